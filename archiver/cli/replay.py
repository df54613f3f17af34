"""`archiver replay CAPTURE_OR_WACZ`: look at what was captured, in a browser, offline."""

from __future__ import annotations

import enum
import shutil
import signal
import sys
import tempfile
import time
import webbrowser
from pathlib import Path

import typer
from rich.markup import escape

from ..errors import UserError
from ..replay.server import PywbServer, ReplayServer, prepare_source, viewer_dir
from .common import settings_for
from .report import out


class Viewer(str, enum.Enum):
    replaywebpage = "replaywebpage"
    pywb = "pywb"


def replay(
    path: Path = typer.Argument(..., help="A capture folder, or a .wacz file."),
    port: int = typer.Option(None, "--port", min=1, max=65535, help="Port on 127.0.0.1 (default: a free one)."),
    no_open: bool = typer.Option(False, "--no-open", help="Print the address only; do not open a browser."),
    viewer: Viewer = typer.Option(None, "--viewer", help="replaywebpage (default when installed) or pywb."),
    config: Path = typer.Option(None, "--config", help="TOML settings file (the station key signs the WACZ)."),
) -> None:
    """Replay a capture or a WACZ on 127.0.0.1 until Ctrl-C; nothing is fetched live."""
    if not path.exists():
        raise UserError(f"{path} does not exist", hint="give a capture folder or a .wacz file")
    rwp = viewer_dir()
    if viewer is None:
        viewer = Viewer.replaywebpage if rwp else Viewer.pywb
        if rwp is None:
            out.print("ReplayWeb.page is not installed (scripts/bootstrap.sh installs it when npm is there): using pywb")
    elif viewer == Viewer.replaywebpage and rwp is None:
        raise UserError("ReplayWeb.page is not installed", hint="run scripts/bootstrap.sh with npm available, or use --viewer pywb")
    settings = settings_for(config, None)
    workdir = Path(tempfile.mkdtemp(prefix="archiver-replay-"))
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        source = prepare_source(path, workdir, settings.identity.key_path, want_wacz=viewer == Viewer.replaywebpage)
        if source.note:
            out.print(escape(source.note))
        if viewer == Viewer.replaywebpage:
            assert rwp is not None
            with ReplayServer(source, rwp, port or 0) as server:
                _announce(server.url, source, "ReplayWeb.page", no_open)
                _wait(lambda: True)
        else:
            with PywbServer(source, workdir, port or 0) as server:
                _announce(server.url, source, "pywb", no_open)
                _wait(server.running)
                if not server.running():
                    raise UserError(f"pywb stopped (log: {server.log_path})")
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(workdir, ignore_errors=True)
    out.print("replay stopped")


def _announce(url: str, source, viewer: str, no_open: bool) -> None:
    what = source.url or source.archive.name
    kind = "signed WACZ" if source.signed else ("WACZ" if source.is_wacz else "WARC")
    out.print(f"replaying {escape(what)} ({kind}, {viewer}) at")
    out.print(url, markup=False, soft_wrap=True)
    out.print("Ctrl-C to stop")
    sys.stdout.flush()
    if not no_open:
        webbrowser.open(url)


def _wait(alive) -> None:
    while alive():
        time.sleep(0.5)


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt
