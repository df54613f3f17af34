"""`archiver import FILE... --case NAME`: files with no URL (phone screenshots, screen
recordings) copied untouched into the case and sealed, one item folder each."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from ..config import load_settings
from ..errors import UserError
from ..importer import ORIGINAL_STEM, check_source, import_file
from ..models import Artifact
from ..seal.case import check_case_name, open_case
from ..seal.identity import StationIdentity
from ..seal.sealer import SealResult

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def import_files(
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="Files to import, one sealed item each."),
    case: str = typer.Option(..., "--case", help="Case name (a folder under the output dir)."),
    source_url: str = typer.Option(None, "--source-url", help="Where the file was seen, if known."),
    note: str = typer.Option(None, "--note", help="A note kept in metadata.json."),
    operator: str = typer.Option(None, "--operator", help="Who imports (default: identity.operator)."),
    out_dir: Path = typer.Option(None, "--out", help="Output folder (default: captures/)."),
    config: Path = typer.Option(None, "--config", help="TOML settings file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per line."),
) -> None:
    """Copy each file's bytes untouched into the case, record its metadata and EXIF, seal it."""
    check_case_name(case)
    problems = []
    for path in files:
        try:
            check_source(path)
        except UserError as exc:
            problems.append(str(exc))
    if problems:
        raise UserError("; ".join(problems), hint="nothing was imported")
    settings = load_settings(config, {"output_dir": out_dir})
    identity = StationIdentity.load_or_create(settings.identity.key_path)
    the_case = open_case(settings.output_dir, case, identity, operator or settings.identity.operator)
    for i, path in enumerate(files, 1):
        if not as_json:
            err.print(f"[{i}/{len(files)}] importing {path} ...", markup=False)
        result = import_file(the_case, path, settings, source_url, note)
        folder = the_case.folder / result.path
        if as_json:
            print(json.dumps(result_json(path, folder, result)))
        else:
            print_import(path, folder, result, settings.timestamp.enabled, case)


def _original(result: SealResult) -> Artifact:
    return next(a for a in result.artifacts if Path(a.path).stem == ORIGINAL_STEM)


def timestamp_line(result: SealResult, enabled: bool, case: str) -> str:
    if not result.pending:
        return "timestamped by " + ", ".join(result.timestamps)
    if not enabled:
        return "PENDING (timestamps are disabled)"
    if not result.timestamp_errors:
        return "PENDING (no TSA configured)"
    summary = "; ".join(" ".join(e.split()) for e in result.timestamp_errors)
    return f"PENDING (no TSA answered: {summary}); retry: archiver timestamp --pending {case}"


def print_import(source: Path, folder: Path, result: SealResult, ts_enabled: bool, case: str) -> None:
    original = _original(result)
    out.print(f"[green]IMPORTED[/green] {escape(str(source))}")
    out.print(f"  folder: {escape(str(folder))}")
    out.print(f"  {escape(original.path)}: {original.size:,} bytes  {escape(original.media_type)}")
    out.print(f"  sha256: {original.sha256}")
    out.print(f"  pHash: {original.phash or '-'}")
    out.print(f"  root hash: {result.root_hash}")
    style = "yellow" if result.pending else "green"
    out.print(f"  timestamp: [{style}]{escape(timestamp_line(result, ts_enabled, case))}[/{style}]")


def result_json(source: Path, folder: Path, result: SealResult) -> dict[str, object]:
    original = _original(result)
    return {
        "file": str(source),
        "path": str(folder),
        "item": result.path,
        "stored_as": original.path,
        "size": original.size,
        "media_type": original.media_type,
        "sha256": original.sha256,
        "phash": original.phash,
        "root_hash": result.root_hash,
        "pending": result.pending,
        "timestamps": result.timestamps,
        "timestamp_errors": result.timestamp_errors,
    }
