"""`archiver note CASE TEXT`: add a signed note to the chain of custody (a transfer, a
phone call, where the original device is kept)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import UserError
from ..models import EventType
from .common import existing_case, settings_for
from .report import out


def note(
    case: str = typer.Argument(..., help="Case name."),
    text: str = typer.Argument(..., help="The note."),
    about: str = typer.Option(None, "--about", help="The item folder the note is about."),
    operator: str = typer.Option(None, "--operator", help="Your name, for the chain of custody."),
    out_dir: Path = typer.Option(None, "--out", help="Output folder (default: captures/)."),
    config: Path = typer.Option(None, "--config", help="TOML settings file."),
) -> None:
    """Append a note-added event, signed by this station."""
    if not text.strip():
        raise UserError("the note is empty")
    settings = settings_for(config, out_dir)
    the_case = existing_case(settings, case, operator)
    if about is not None and not (the_case.folder / about).is_dir():
        raise UserError(f"no item {about!r} in case {case}", hint="give the item's folder path")
    event = the_case.record(EventType.NOTE_ADDED, {"text": text, "about": about})
    out.print(f"note added as event {event.seq} of case {case}")
