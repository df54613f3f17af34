"""`archiver jobs CASE` (list), `archiver jobs resume CASE`, `archiver jobs retry CASE`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import UserError
from ..jobs.queue import JobQueue
from ..seal.case import CASE_FILE, check_case_name
from .capture import report_summary, run_jobs
from .common import settings_for
from .report import out

ACTIONS = ("resume", "retry")


def jobs(
    words: list[str] = typer.Argument(..., help="CASE | resume CASE | retry CASE"),
    out_dir: Path = typer.Option(None, "--out", help="Output folder (default: captures/)."),
    config: Path = typer.Option(None, "--config", help="TOML settings file."),
    concurrency: int = typer.Option(None, "--concurrency", help="Pages in parallel when resuming."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """List a case's capture jobs; resume the unfinished ones; re-queue the failed ones."""
    if len(words) == 1:
        action, case = "list", words[0]
    elif len(words) == 2 and words[0] in ACTIONS:
        action, case = words
    else:
        raise UserError("usage: archiver jobs CASE | archiver jobs resume CASE | archiver jobs retry CASE")
    settings = settings_for(config, out_dir, default_case=check_case_name(case), jobs={"concurrency": concurrency})
    folder = Path(settings.output_dir) / case
    if not (folder / CASE_FILE).is_file():
        raise UserError(f"no case {case!r} in {settings.output_dir}", hint="check the name and --out")
    if action == "retry":
        queue = JobQueue(folder)
        try:
            n = queue.retry_failed()
        finally:
            queue.close()
        out.print(f"{n} failed job(s) queued again")
        if not n:
            return
    if action in ("resume", "retry"):
        summary = asyncio.run(run_jobs(settings, None, again=False, as_json=as_json))
        report_summary(settings, summary, as_json, single=False)
        return
    _list(folder, as_json)


def _list(folder: Path, as_json: bool) -> None:
    queue = JobQueue(folder)
    try:
        rows, counts = queue.all(), queue.counts()
    finally:
        queue.close()
    if as_json:
        import json

        print(json.dumps({"counts": counts, "jobs": [r.__dict__ for r in rows]}, indent=2))
        return
    table = Table()
    for column in ("id", "state", "tries", "url", "capture / last error", "seconds"):
        table.add_column(column)
    for job in rows:
        detail = job.last_error if job.state in ("failed", "queued") and job.last_error else (job.capture or "")
        seconds = f"{job.seconds:.1f}" if job.seconds else ""
        table.add_row(str(job.id), job.state, str(job.attempts), escape(job.url), escape(detail), seconds)
    out.print(table)
    for job in rows:  # the reasons in full: nothing cut by the table
        if job.state == "failed" and job.last_error:
            out.print(f"job {job.id} failed: {escape(job.url)}: {escape(job.last_error)}", soft_wrap=True)
    out.print(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no jobs")
    if counts["queued"] or counts["running"]:
        out.print(f"resume with: archiver jobs resume {folder.name}")


