"""`archiver capture URL... [--from-file F]`: every URL is a job in the case's queue; the
queue is run (N pages in parallel), each capture sealed as soon as it is finished."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from ..capture.netguard import BadURL, validate_url
from ..config import Settings, load_settings
from ..errors import UserError
from ..models import Provenance
from .progress import JobProgress
from .report import print_result

if TYPE_CHECKING:  # the pipeline pulls in Playwright: imported when a capture runs
    from ..jobs.runner import RunSummary
    from ..pipeline import Captured

err = Console(stderr=True, highlight=False)


def read_url_file(path: str) -> list[str]:
    """One URL per line; `#` comments and blank lines ignored; `-` is standard input."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read URL list {path}: {exc.strerror or exc}") from None
    urls = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        urls.append(line.split(" #", 1)[0].strip())  # a comment after the URL; '#' in a URL stays
    return urls


def capture(
    urls: list[str] = typer.Argument(None, help="http(s) URLs to capture, one folder each."),
    from_file: str = typer.Option(None, "--from-file", help="A file of URLs, one per line ('-' = stdin)."),
    case: str = typer.Option(None, "--case", help="Case name (a folder under the output dir)."),
    out: Path = typer.Option(None, "--out", help="Output folder (default: captures/)."),
    config: Path = typer.Option(None, "--config", help="TOML settings file."),
    concurrency: int = typer.Option(None, "--concurrency", help="Pages in parallel (default: CPU count)."),
    again: bool = typer.Option(False, "--again", help="Capture URLs the case already has once more."),
    retries: int = typer.Option(None, "--retries", help="Retries for network errors, 5xx and 429."),
    allow_private: bool = typer.Option(
        None, "--allow-private", help="Allow private, loopback and link-local addresses."
    ),
    ignore_https_errors: bool = typer.Option(
        None, "--ignore-https-errors", help="Load pages with invalid certificates (recorded)."
    ),
    timeout: float = typer.Option(None, "--timeout", help="Seconds for the whole page load."),
    max_bytes: int = typer.Option(None, "--max-bytes", help="Max bytes of bodies per capture."),
    max_response_bytes: int = typer.Option(None, "--max-response-bytes", help="Max bytes per body."),
    operator: str = typer.Option(None, "--operator", help="Your name, for the chain of custody."),
    no_timestamp: bool = typer.Option(
        False, "--no-timestamp", help="Seal without asking TSAs (stays pending; see `timestamp`)."
    ),
    profile: str = typer.Option(None, "--profile", help="Capture logged in, with a profile saved by `archiver login`."),
    thread_depth: int = typer.Option(None, "--thread-depth", help="Rounds of 'show replies' to open (default 1)."),
    no_behaviours: bool = typer.Option(False, "--no-behaviours", help="Do not click anything on the page."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per line."),
) -> None:
    """Open each URL in Chromium and record everything: WARC, screenshots, DOM, PDF; seal it."""
    wanted = list(urls or []) + (read_url_file(from_file) if from_file else [])
    if not wanted:
        raise UserError("no URL given", hint="give URLs, or --from-file FILE")
    bad = []
    for url in wanted:
        try:
            validate_url(url)
        except BadURL as exc:
            bad.append(str(exc))
    if bad:
        raise UserError("; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else ""))
    settings = load_settings(
        config,
        {
            "output_dir": out,
            "default_case": case,
            "network": {"allow_private": allow_private},
            "browser": {"ignore_https_errors": ignore_https_errors},
            "limits": {
                "capture_timeout": timeout,
                "max_total_bytes": max_bytes,
                "max_response_bytes": max_response_bytes,
            },
            "identity": {"operator": operator},
            "timestamp": {"enabled": False if no_timestamp else None},
            "jobs": {"concurrency": concurrency, "retries": retries},
            "platforms": {
                "profile": profile,
                "thread_depth": thread_depth,
                "behaviours": False if no_behaviours else None,
            },
        },
    )
    if settings.platforms.profile:
        from ..profiles import load_profile

        load_profile(settings, settings.platforms.profile)  # a missing or unsafe profile: say so now
    summary = asyncio.run(run_jobs(settings, wanted, again, as_json))
    report_summary(settings, summary, as_json, single=len(wanted) == 1)


async def run_jobs(settings: Settings, urls: list[str] | None, again: bool, as_json: bool) -> "RunSummary":
    """Queue the URLs in the case, reconcile what a killed run left, run every queued job."""
    from ..jobs.queue import JobQueue
    from ..jobs.runner import Runner, concurrency_of, reconcile
    from ..pipeline import CaptureCase

    async with CaptureCase(settings) as run:
        assert run.case is not None
        queue = JobQueue(run.case.folder)
        try:
            for note in reconcile(run, queue):
                err.print(f"resume: {note}", markup=False)
            if urls:
                _, new = queue.add(urls, again=again)
                if new < len(urls) and not as_json:
                    err.print(f"{len(urls) - new} URL(s) already in case {run.case.name}: not captured again (use --again)", markup=False)
            total = len(queue.queued())
            progress = JobProgress(err, total, concurrency_of(settings), quiet=as_json)
            runner = Runner(run, queue, on_event=progress.update)
            with progress:
                summary = await runner.run_all()
            if summary.disk_full:
                err.print("error: the disk is full: the batch stopped; free some space, then: "
                          f"archiver jobs resume {run.case.name}", markup=False)
            elif summary.interrupted:
                left = len(queue.queued()) + len(queue.running())
                err.print(
                    f"interrupted: {left} job(s) not done; resume with: archiver jobs resume {run.case.name}",
                    markup=False,
                )
            return summary
        finally:
            queue.close()


def report_summary(settings: Settings, summary: "RunSummary", as_json: bool, single: bool) -> None:
    case_dir = Path(settings.output_dir) / settings.default_case
    finals = [o for o in summary.outcomes if o.state != "retry"]
    for outcome in finals:
        prov = _provenance(case_dir, outcome.capture)
        if as_json:
            print(json.dumps(_json(outcome, prov, case_dir)))
        elif single and outcome.captured is not None:
            print_result(outcome.captured)
    failed = [o for o in finals if o.state == "failed"]
    for outcome in failed:
        where = f" (what was recorded is kept in {case_dir / outcome.capture})" if outcome.capture else ""
        err.print(f"error: could not capture {outcome.job.url}: {outcome.detail}{where}", soft_wrap=True, markup=False)
    if failed or summary.interrupted:
        raise typer.Exit(1 if failed or summary.disk_full else 130)


def _provenance(case_dir: Path, capture: str | None) -> Provenance | None:
    if not capture:
        return None
    try:
        return Provenance.model_validate_json((case_dir / capture / "provenance.json").read_bytes())
    except (OSError, ValueError):
        return None


def _json(outcome, prov: Provenance | None, case_dir: Path) -> dict[str, object]:
    return {
        "url": outcome.job.url,
        "job": outcome.job.id,
        "state": prov.state.value if prov else "failed",
        "job_state": outcome.state,
        "path": str(case_dir / outcome.capture) if outcome.capture else None,
        "final_url": prov.final_url if prov else None,
        "http_status": prov.http_status if prov else None,
        "failure": prov.failure if prov else outcome.detail,
        "limits_hit": [h.model_dump() for h in prov.limits_hit] if prov else [],
        "login_required": prov.login_required if prov else None,
        "profile": prov.profile.name if prov and prov.profile else None,
        "post": prov.post.model_dump(mode="json") if prov and prov.post else None,
        "seconds": round(outcome.seconds, 3),
    }


async def run_captures(settings: Settings, urls: list[str], quiet: bool = False) -> list["Captured"]:
    """Capture URLs one after the other without the queue (the demo)."""
    from ..pipeline import CaptureCase

    results: list[Captured] = []
    async with CaptureCase(settings) as run:
        for i, url in enumerate(urls, 1):
            if not quiet:
                err.print(f"[{i}/{len(urls)}] capturing {url} ...", markup=False)
            results.append(await run.capture(url))
    return results
