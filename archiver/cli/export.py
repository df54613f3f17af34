"""`archiver export CASE_OR_CAPTURE --wacz OUT.wacz | --bundle OUT.zip`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from .. import SOFTWARE_NAME, __version__
from ..errors import UserError
from ..models import EventType
from ..seal.case import CASE_FILE, open_case
from ..storage.digest import sha256_file
from ..seal.identity import StationIdentity
from ..seal.pending import sealed_paths
from .common import settings_for
from .report import out


def export(
    target: Path = typer.Argument(..., help="A case folder, or one capture folder in a case."),
    wacz: Path = typer.Option(None, "--wacz", help="Write a signed WACZ (captures only)."),
    bundle: Path = typer.Option(None, "--bundle", help="Write the whole case as an evidence bundle (zip)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output file."),
    operator: str = typer.Option(None, "--operator", help="Your name, for the chain of custody."),
    config: Path = typer.Option(None, "--config", help="TOML settings file."),
) -> None:
    """Export evidence in formats others' tools read; the export is logged in the case."""
    if (wacz is None) == (bundle is None):
        raise UserError("say either --wacz OUT.wacz or --bundle OUT.zip")
    target = target.resolve()
    case_dir = target if (target / CASE_FILE).is_file() else target.parent
    if not (case_dir / CASE_FILE).is_file():
        raise UserError(f"{target} is neither a case folder nor a capture folder of a case")
    settings = settings_for(config, case_dir.parent)
    identity = StationIdentity.load_or_create(settings.identity.key_path)
    case = open_case(case_dir.parent, case_dir.name, identity, operator or settings.identity.operator)
    if bundle is not None:
        if target != case_dir:
            raise UserError("--bundle exports a whole case: give the case folder")
        from ..package.bundle import export_bundle

        done = export_bundle(case, bundle, force=force)
        out.print(f"bundle {escape(str(done.path))}: {done.files} files, {done.items} sealed items, {done.size:,} bytes")
        out.print(f"  sha256 {done.sha256} (logged in the case as an export-made event)")
        for skipped in done.skipped:
            out.print(f"  [yellow]left out[/yellow] {escape(skipped)}: an interrupted capture, never sealed")
        return
    from ..package.wacz import export_wacz

    sealed = sealed_paths(case)
    if target == case_dir:
        items = [p for p in sealed if not p.startswith("imports/")]
    else:
        rel = target.relative_to(case_dir).as_posix()
        if rel not in sealed:
            raise UserError(f"{rel} is not a sealed capture of case {case.name}", hint="run archiver seal first")
        items = [rel]
    if not items:
        raise UserError(f"case {case.name} has no sealed captures to put in a WACZ")
    export_wacz(case_dir, items, wacz, identity, f"{SOFTWARE_NAME} {__version__}", force=force)
    digest, size = sha256_file(wacz)
    case.record(
        EventType.EXPORT_MADE,
        {"kind": "wacz", "path": str(wacz), "sha256": digest, "size": size, "items": items},
    )
    out.print(f"WACZ {escape(str(wacz))}: {len(items)} captures, {size:,} bytes, signed by station {identity.fingerprint[:16]}…")
    out.print(f"  sha256 {digest} (logged in the case as an export-made event)")
