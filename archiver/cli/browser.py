"""`archiver browser ensure|path`: find (or on Debian as root, install) a Chromium."""

from __future__ import annotations

import typer

from ..capture.browser import ensure_browser, find_browser
from ..config import load_settings

app = typer.Typer(help="Find or install the Chromium used for captures.", no_args_is_help=True)


@app.command("ensure")
def ensure() -> None:
    """Find a Chromium; install Debian's package if none is found (root on Debian only)."""
    path = ensure_browser(load_settings().browser)
    typer.echo(f"chromium: {path}", err=True)


@app.command("path")
def path() -> None:
    """Print the Chromium that captures will use."""
    typer.echo(find_browser(load_settings().browser))
