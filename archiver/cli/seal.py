"""`archiver seal CASE` and `archiver timestamp --pending CASE`: finish interrupted work."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ..seal.pending import seal_unsealed, timestamp_pending
from .common import existing_case, settings_for
from .report import out


def seal(
    case: str = typer.Argument(..., help="Case name."),
    out_dir: Path = typer.Option(None, "--out", help="Output folder (default: captures/)."),
    config: Path = typer.Option(None, "--config", help="TOML settings file."),
    operator: str = typer.Option(None, "--operator", help="Your name, for the chain of custody."),
) -> None:
    """Seal finished captures and imports whose seal was interrupted (crash, kill)."""
    settings = settings_for(config, out_dir)
    the_case = existing_case(settings, case, operator)
    results = seal_unsealed(the_case, settings.timestamp)
    if not results:
        out.print("nothing to seal: every finished item is in the manifest")
    for result in results:
        state = "timestamped" if not result.pending else "timestamp pending"
        out.print(f"sealed {escape(result.path)}  root {result.root_hash}  ({state})")


def timestamp(
    case: str = typer.Argument(..., help="Case name."),
    pending: bool = typer.Option(False, "--pending", help="Retry every item with no timestamp."),
    out_dir: Path = typer.Option(None, "--out", help="Output folder (default: captures/)."),
    config: Path = typer.Option(None, "--config", help="TOML settings file."),
) -> None:
    """Ask the TSAs for timestamps that could not be had at seal time (offline)."""
    if not pending:
        raise typer.BadParameter("say --pending to retry the items that have no timestamp yet")
    settings = settings_for(config, out_dir)
    the_case = existing_case(settings, case)
    done = timestamp_pending(the_case, settings.timestamp)
    still = 0
    for item, result in done:
        if isinstance(result, str):
            still += 1
            out.print(f"[red]skipped[/red] {escape(item.path)}: {escape(result)}")
        elif result.pending:
            still += 1
            out.print(f"[yellow]still pending[/yellow] {escape(item.path)}: {escape('; '.join(result.timestamp_errors))}")
        else:
            out.print(f"[green]timestamped[/green] {escape(item.path)} by {escape(', '.join(result.timestamps))}")
    if not done:
        out.print("nothing pending: every sealed item has a timestamp")
    if still:
        raise typer.Exit(1)
