"""`archiver demo`: capture the bundled demo post, offline, into captures/demo/."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from ..config import load_settings
from ..demo.server import DemoServer
from .capture import run_captures
from .report import out, print_result


def demo(
    out_dir: Path = typer.Option(Path("captures"), "--out", help="Output folder."),
) -> None:
    """Serve the built-in demo post on 127.0.0.1 and capture it (no internet needed)."""
    settings = load_settings(
        overrides={"output_dir": out_dir, "default_case": "demo", "network": {"allow_private": True}}
    )
    with DemoServer() as server:
        url = f"{server.url}/post/1"
        out.print(f"demo site on {server.url}; capturing {url}")
        results = asyncio.run(run_captures(settings, [url]))
    for result in results:
        print_result(result)
        out.print("\nWhat the capture holds:")
        for path in sorted(p for p in result.path.rglob("*") if p.is_file()):
            out.print(f"  {path.relative_to(result.path).as_posix():28} {path.stat().st_size:>10,} bytes")
        out.print(f"\nSee the page: {result.path / 'screenshot-full.png'}")
        out.print(f"Verify the case: .venv/bin/archiver verify {result.path.parent}")
        out.print(f"Check the WARC:  .venv/bin/warcio check -v {result.path / 'archive.warc.gz'}")
    if any(r.state.value == "failed" for r in results):
        raise typer.Exit(1)
