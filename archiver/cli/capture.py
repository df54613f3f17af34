"""`archiver capture URL [URL...]`: one capture folder per URL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from ..capture.netguard import BadURL, validate_url
from ..config import Settings, load_settings
from ..errors import UserError
from ..models import CaptureState
from .report import print_result

if TYPE_CHECKING:  # the pipeline pulls in Playwright: imported when a capture runs
    from ..pipeline import Captured

err = Console(stderr=True, highlight=False)


def capture(
    urls: list[str] = typer.Argument(..., help="http(s) URLs to capture, one folder each."),
    case: str = typer.Option(None, "--case", help="Case name (a folder under the output dir)."),
    out: Path = typer.Option(None, "--out", help="Output folder (default: captures/)."),
    config: Path = typer.Option(None, "--config", help="TOML settings file."),
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
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per line."),
) -> None:
    """Open each URL in Chromium and record everything: WARC, screenshots, DOM, PDF."""
    bad = []
    for url in urls:
        try:
            validate_url(url)
        except BadURL as exc:
            bad.append(str(exc))
    if bad:
        raise UserError("; ".join(bad))
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
        },
    )
    results = asyncio.run(run_captures(settings, urls, quiet=as_json))
    for result in results:
        if as_json:
            print(json.dumps(result_json(result)))
        else:
            print_result(result)
    failed = [r for r in results if r.state == CaptureState.FAILED]
    for result in failed:
        p = result.provenance
        err.print(
            f"error: could not capture {p.requested_url}: {p.failure} "
            f"(what was recorded is kept in {result.path})",
            soft_wrap=True,
            markup=False,
        )
    if failed:
        raise typer.Exit(1)


async def run_captures(settings: Settings, urls: list[str], quiet: bool = False) -> list["Captured"]:
    from ..pipeline import CaptureCase

    results: list[Captured] = []
    async with CaptureCase(settings) as run:
        for i, url in enumerate(urls, 1):
            if not quiet:
                err.print(f"[{i}/{len(urls)}] capturing {url} ...", markup=False)
            results.append(await run.capture(url))
    return results


def result_json(result: "Captured") -> dict[str, object]:
    p = result.provenance
    return {
        "root_hash": result.seal.root_hash,
        "timestamps": result.seal.timestamps,
        "timestamp_pending": result.seal.pending,
        "url": p.requested_url,
        "state": p.state.value,
        "path": str(result.path),
        "final_url": p.final_url,
        "http_status": p.http_status,
        "failure": p.failure,
        "limits_hit": [h.model_dump() for h in p.limits_hit],
    }
