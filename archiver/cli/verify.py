"""`archiver verify PATH`: has anything changed since it was sealed, and when was it?"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import UserError
from ..models import EventType
from ..verify.report import Status, VerifyReport
from ..verify.run import find_case, verify_path
from .common import existing_case, settings_for
from .report import out

STYLE = {Status.PASS: "green", Status.FAIL: "red", Status.PENDING: "yellow", Status.INCOMPLETE: "yellow"}


def verify(
    path: Path = typer.Argument(..., help="A case folder or one capture/import folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    strict: bool = typer.Option(False, "--strict", help="Pending timestamps and incomplete items fail too."),
    tsa_root: list[Path] = typer.Option([], "--tsa-root", help="A TSA root certificate (PEM) to trust."),
    record: bool = typer.Option(False, "--record", help="Append a verification-run event to the case."),
    config: Path = typer.Option(None, "--config", help="TOML settings file."),
) -> None:
    """Recompute every hash, check the manifest chain, signatures, timestamps, WARC digests."""
    if not path.exists():
        raise UserError(f"{path} does not exist", hint="give a case folder or a capture folder")
    settings = settings_for(config, None)
    report = verify_path(path, [*settings.timestamp.trusted_roots, *tsa_root])
    passed = report.passed(strict)
    if as_json:
        print(json.dumps({"passed": passed, "strict": strict, **report.model_dump(mode="json")}, indent=2))
    else:
        print_report(report, passed)
    if record:
        _record(path, report, passed, settings)
    if not passed:
        raise typer.Exit(1)


def print_report(report: VerifyReport, passed: bool) -> None:
    if report.case:
        out.print(f"case {escape(report.case)}: {report.manifest_events} manifest events, stations {', '.join(s[:16] + '…' for s in report.stations)}")
    table = Table(show_lines=False)
    for column in ("item", "kind", "status", "checked", "timestamped (UTC)"):
        table.add_column(column)
    for item in report.items:
        style = STYLE[item.status]
        stamps = ", ".join(f"{t.gen_time}" for t in item.timestamps if t.ok) or "-"
        checked = f"{item.files_checked} files, {item.warc_records} rec"
        table.add_row(escape(item.path), item.kind, f"[{style}]{item.status.value}[/{style}]", checked, stamps)
    out.print(table)
    for item in report.items:  # every reason in full, one line each: nothing cut by the table
        for problem in item.problems:
            out.print(f"[red]FAIL[/red] {escape(problem.file)}: {escape(problem.reason)}", soft_wrap=True)
        if item.status != Status.PASS:
            for note in item.notes:
                out.print(f"{item.status.value} {escape(item.path)}: {escape(note)}", soft_wrap=True)
    for problem in report.case_problems:
        out.print(f"[red]FAIL[/red] {escape(problem.file)}: {escape(problem.reason)}")
    for note in report.case_notes:
        out.print(f"note: {escape(note)}")
    counts = report.counts()
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    verdict = "[green]VERIFIED[/green]" if passed else "[red]NOT VERIFIED[/red]"
    out.print(f"{verdict}: {len(report.items)} items ({summary or 'none'}); {len(report.case_problems)} case problems")


def _record(path: Path, report: VerifyReport, passed: bool, settings) -> None:
    case_dir = find_case(path.resolve())
    if case_dir is None:
        raise UserError("--record needs a case folder (there is no manifest here)")
    settings.output_dir = case_dir.parent
    case = existing_case(settings, case_dir.name)
    case.record(
        EventType.VERIFICATION_RUN,
        {"result": "pass" if passed else "fail", "items": len(report.items), "failures": sum(len(i.problems) for i in report.items) + len(report.case_problems)},
    )
