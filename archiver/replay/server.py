"""Serve one capture (or a WACZ) for replay in a browser, on 127.0.0.1 only.

Two viewers:

* **ReplayWeb.page** (default when installed): `scripts/bootstrap.sh` puts the npm
  package `replaywebpage` in `.cache/replaywebpage/`; its prebuilt `ui.js` (the
  `<replay-web-page>` element) and `sw.js` (the service worker that reads the archive and
  replays it) are served from there, never from a CDN. `ReplayServer` is a small threaded
  HTTP server with these paths:

  ``/``                     the page embedding ``<replay-web-page source="/archive.wacz"
                            url=... ts=... replaybase="/replay/" embed="replay-with-info">``
  ``/ui.js``                the viewer (also ``/replay/ui.js``: the service worker's own
                            index page loads ``./ui.js`` relative to its scope)
  ``/replay/sw.js``         the service worker; registered by ui.js as
                            ``/replay/sw.js?serveIndex=1`` with scope ``/replay/`` (its own
                            folder, so no ``Service-Worker-Allowed`` is needed; it is sent
                            anyway, naming that scope)
  ``/replay/``              a stand-in index for the first load, before the worker
                            controls the frame (ui.js reloads the frame until it does)
  ``/archive.wacz``         the archive, with HTTP Range support (ReplayWeb.page reads a
  (or ``/archive.warc.gz``) WACZ's zip directory and records by range requests)

* **pywb** (``--viewer pywb``, or when ReplayWeb.page is not installed): a collection in a
  temporary folder (``wb-manager init`` / ``add``) served by ``wayback -b 127.0.0.1``.

A capture folder is replayed from a temporary WACZ made by `archiver.package.wacz`
(signed by this station) when that module exists; otherwise from its WARC. Captures of a
case share payloads (`revisit` records point into earlier captures' WARCs), so the WARCs
holding the originals are included too.
"""

from __future__ import annotations

import errno
import html
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from .. import SOFTWARE_NAME, __version__
from ..errors import UserError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
VIEWER_ENV = "ARCHIVER_REPLAYWEBPAGE_DIR"
REPLAY_SCOPE = "/replay/"
WARC_NAME = "archive.warc.gz"
CHUNK = 1 << 16


# -- the viewer ------------------------------------------------------------------------


def viewer_dir() -> Path | None:
    """The folder holding ReplayWeb.page's ui.js and sw.js, or None when not installed.

    `ARCHIVER_REPLAYWEBPAGE_DIR` if set, else `<project>/.cache/replaywebpage/` (where
    scripts/bootstrap.sh installs it)."""
    configured = os.environ.get(VIEWER_ENV)
    folder = Path(configured) if configured else Path(__file__).resolve().parents[2] / ".cache" / "replaywebpage"
    if (folder / "ui.js").is_file() and (folder / "sw.js").is_file():
        return folder
    return None


# -- what to replay --------------------------------------------------------------------


@dataclass
class ReplaySource:
    """One archive file for ReplayWeb.page, the same content as WARCs (or a WACZ) for pywb,
    and the page to open."""

    archive: Path  # a .wacz or a .warc.gz: what ReplayWeb.page loads
    url: str | None = None  # the page to open (None: the archive's page list)
    ts: str | None = None  # its capture time, YYYYmmddHHMMSS
    title: str | None = None
    warcs: list[Path] = field(default_factory=list)  # for pywb: WARC files, or one .wacz
    signed: bool = False  # a WACZ signed by this station (archiver.package.wacz)
    note: str | None = None  # why a capture is replayed from its WARC rather than a WACZ

    @property
    def is_wacz(self) -> bool:
        return self.archive.suffix.lower() == ".wacz"

    @property
    def served_path(self) -> str:
        return "/archive.wacz" if self.is_wacz else f"/{WARC_NAME}"


def is_capture(folder: Path) -> bool:
    return folder.is_dir() and (folder / WARC_NAME).is_file() and (folder / "provenance.json").is_file()


def warc_ts(warc_date: str) -> str:
    """`2026-11-25T13:15:43.428Z` -> `20261125131543` (the replay timestamp form)."""
    return "".join(ch for ch in warc_date if ch.isdigit())[:14]


def capture_page(capture: Path) -> tuple[str | None, str | None, str | None]:
    """(url, ts, title) of a capture's main page: the final URL from provenance.json, timed
    by the WARC-Date of its response (or revisit) record."""
    try:
        prov = json.loads((capture / "provenance.json").read_text("utf-8"))
    except (OSError, ValueError):
        prov = {}
    url = prov.get("final_url") or prov.get("requested_url")
    ts = warc_ts(prov["started"]) if prov.get("started") else None
    if url:
        with open(capture / WARC_NAME, "rb") as fh:
            for record in ArchiveIterator(fh):
                headers = record.rec_headers
                if record.rec_type in ("response", "revisit") and headers.get_header("WARC-Target-URI") == url:
                    ts = warc_ts(headers.get_header("WARC-Date") or "") or ts
                    break
    return url, ts, prov.get("title")


def referenced_warcs(capture: Path) -> list[Path]:
    """The other WARCs of the case holding the originals the capture's revisits point to."""
    wanted: set[str] = set()
    with open(capture / WARC_NAME, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "revisit":
                target = record.rec_headers.get_header("WARC-Refers-To")
                if target:
                    wanted.add(target)
    found: list[Path] = []
    if not wanted:
        return found
    for other in sorted(capture.parent.glob(f"*/{WARC_NAME}")):
        if other.parent == capture or other.parent.name.startswith(".incomplete-"):
            continue
        hit = False
        with open(other, "rb") as fh:
            for record in ArchiveIterator(fh):
                record_id = record.rec_headers.get_header("WARC-Record-ID")
                if record_id in wanted:
                    wanted.discard(record_id)
                    hit = True
        if hit:
            found.append(other)
        if not wanted:
            break
    if wanted:
        log.warning("%s: %d revisit originals not found in the case", capture, len(wanted))
    return found


def wacz_page(wacz: Path) -> tuple[str | None, str | None, str | None]:
    """(url, ts, title) of a WACZ's only page, from pages/pages.jsonl; Nones when it has
    several pages (the viewer then lists them) or none."""
    try:
        with zipfile.ZipFile(wacz) as zf:
            lines = zf.read("pages/pages.jsonl").decode("utf-8").splitlines()
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError):
        return None, None, None
    pages = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("url"):
            pages.append(entry)
    if len(pages) != 1:
        return None, None, None
    page = pages[0]
    return page["url"], warc_ts(str(page.get("ts") or "")) or None, page.get("title")


def _export_wacz():
    """archiver.package.wacz.export_wacz, or None while that module does not exist."""
    try:
        from ..package.wacz import export_wacz
    except ModuleNotFoundError as exc:
        if exc.name in ("archiver.package.wacz", "archiver.package"):
            return None
        raise
    return export_wacz


def prepare_source(path: Path, workdir: Path, key_path: Path | None = None, want_wacz: bool = True) -> ReplaySource:
    """What to replay for PATH (a capture folder or a .wacz), temporary files in WORKDIR.

    A capture folder becomes a WACZ signed with the station key (KEY_PATH, default: the
    configured one) when `want_wacz` and archiver.package.wacz is there; otherwise the
    capture's WARC, preceded by the case WARCs its revisits point into, in one file."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} does not exist", hint="give a capture folder or a .wacz file")
    if path.is_file():
        if path.suffix.lower() != ".wacz" or not zipfile.is_zipfile(path):
            raise UserError(f"{path} is not a WACZ file", hint="give a capture folder or a .wacz file")
        url, ts, title = wacz_page(path)
        return ReplaySource(archive=path.resolve(), url=url, ts=ts, title=title, warcs=[path.resolve()])
    path = path.resolve()
    if not is_capture(path):
        hint = "give one capture folder inside it" if (path / "case.json").is_file() else "a capture folder holds archive.warc.gz and provenance.json"
        raise UserError(f"{path} is not a capture folder", hint=hint)
    url, ts, title = capture_page(path)
    warcs = [*referenced_warcs(path), path / WARC_NAME]
    source = ReplaySource(archive=path / WARC_NAME, url=url, ts=ts, title=title, warcs=warcs)
    if not want_wacz:
        return source
    export_wacz = _export_wacz()
    case_dir = path.parent
    if export_wacz is None:
        source.note = "no WACZ export in this installation: replaying the WARC"
    elif not (case_dir / "case.json").is_file():
        source.note = "the capture is not in a case: replaying its WARC (no signed WACZ)"
    else:
        from ..seal.identity import StationIdentity

        if key_path is None:
            from ..config import load_settings

            key_path = load_settings().identity.key_path
        out = Path(workdir) / "archive.wacz"
        try:
            export_wacz(case_dir, [path.name], out, StationIdentity.load_or_create(key_path), f"{SOFTWARE_NAME} {__version__}")
        except UserError as exc:
            source.note = f"no signed WACZ: {exc.message}; replaying the WARC instead"
        else:
            source.archive, source.signed = out, True
            return source
    if len(warcs) > 1:  # one file for ReplayWeb.page: gzip members concatenate
        joined = Path(workdir) / WARC_NAME
        with open(joined, "wb") as dst:
            for warc in warcs:
                with open(warc, "rb") as src:
                    shutil.copyfileobj(src, dst, CHUNK * 16)
        source.archive = joined
    return source


# -- the ReplayWeb.page server ---------------------------------------------------------


@dataclass
class _Route:
    content_type: str
    body: bytes | None = None
    file: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)
    ranges: bool = False


def parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """One `bytes=` range of a `Range` header as (first, last), inclusive. None: ignore
    the header (not bytes, several ranges, malformed: send it all); False: unsatisfiable."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_s, dash, last_s = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first_s:  # the last N bytes
            count = int(last_s)
            if count <= 0:
                return False
            return max(0, size - count), size - 1
        first = int(first_s)
        last = int(last_s) if last_s else size - 1
    except ValueError:
        return None
    if first >= size:
        return False
    if last < first:
        return None
    return first, min(last, size - 1)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections end

    def version_string(self) -> str:
        return f"{SOFTWARE_NAME}-replay/{__version__}"

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self, head: bool) -> None:
        route = self.server.routes.get(self.path.split("?", 1)[0].split("#", 1)[0])  # type: ignore[attr-defined]
        if route is None:
            self._send_bytes(404, "text/plain; charset=utf-8", b"not found\n", {}, head)
            return
        if route.file is None:
            self._send_bytes(200, route.content_type, route.body or b"", route.headers, head)
            return
        try:
            fh = open(route.file, "rb")
        except OSError:
            self._send_bytes(404, "text/plain; charset=utf-8", b"gone\n", {}, head)
            return
        with fh:
            size = os.fstat(fh.fileno()).st_size
            first, last, status = 0, size - 1, 200
            headers = dict(route.headers)
            if route.ranges:
                headers["Accept-Ranges"] = "bytes"
                wanted = parse_range(self.headers.get("Range", ""), size) if self.headers.get("Range") else None
                if wanted is False:
                    headers["Content-Range"] = f"bytes */{size}"
                    self._send_bytes(416, "text/plain; charset=utf-8", b"range not satisfiable\n", headers, head)
                    return
                if wanted:
                    first, last = wanted
                    status = 206
                    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
            length = max(0, last - first + 1)
            self.send_response(status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(length))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if head:
                return
            fh.seek(first)
            left = length
            try:
                while left > 0:
                    chunk = fh.read(min(CHUNK, left))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):  # the viewer stopped reading: fine
                self.close_connection = True

    def _send_bytes(self, status: int, content_type: str, body: bytes, headers: dict[str, str], head: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, _Route]


JS = "application/javascript; charset=utf-8"
HTML = "text/html; charset=utf-8"
NO_STORE = {"Cache-Control": "no-store"}


def viewer_page(source: ReplaySource) -> bytes:
    """The top page: ReplayWeb.page's `<replay-web-page>` element over our archive."""
    attrs = {"source": source.served_path, "replaybase": REPLAY_SCOPE}
    if source.url:
        attrs["url"] = source.url
        if source.ts:
            attrs["ts"] = source.ts
        attrs["embed"] = "replay-with-info"  # the page, and a panel with the archive's validation
    else:
        attrs["embed"] = "full"  # several pages: the viewer's own page list
    attributes = " ".join(f'{name}="{html.escape(value, quote=True)}"' for name, value in attrs.items())
    what = html.escape(source.title or source.url or source.archive.name)
    origin = "a signed WACZ made from the capture" if source.signed else html.escape(source.archive.name)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Replay: {what}</title>
<script src="/ui.js"></script>
<style>
  html, body {{ margin: 0; height: 100%; font: 14px system-ui, sans-serif; }}
  body {{ display: flex; flex-direction: column; }}
  header {{ padding: 6px 12px; background: #f3f4f6; border-bottom: 1px solid #d1d5db; }}
  replay-web-page {{ flex: 1; min-height: 0; display: block; }}
</style>
</head>
<body>
<header>archiver replay: {what} &mdash; from {origin}, served by this computer only</header>
<replay-web-page {attributes} deeplink></replay-web-page>
</body>
</html>
""".encode("utf-8")


# Before the service worker controls the frame, /replay/ comes from us: the same markup the
# worker serves there itself (ui.js makes the frame reload until the worker is in control).
SCOPE_INDEX = b"""<!doctype html>
<html><head><meta charset="utf-8"><script src="./ui.js"></script></head>
<body><replay-app-main></replay-app-main></body></html>
"""


class ReplayServer:
    """ReplayWeb.page over one archive, on 127.0.0.1 (PORT, or a free one when 0).

    >>> with ReplayServer(source, viewer_dir()) as server:
    ...     print(server.url)
    """

    def __init__(self, source: ReplaySource, viewer: Path, port: int = 0):
        self.source = source
        self.viewer = Path(viewer)
        try:
            self.httpd = _HTTPServer((HOST, port), _Handler)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise UserError(f"port {port} on {HOST} is not available ({exc.strerror})", hint="choose another --port, or leave it out for a free one") from None
            raise
        self.httpd.routes = self._routes()
        self._thread: threading.Thread | None = None

    def _routes(self) -> dict[str, _Route]:
        ui = _Route(JS, file=self.viewer / "ui.js", headers={"Cache-Control": "no-cache"})
        sw = _Route(JS, file=self.viewer / "sw.js", headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": REPLAY_SCOPE})
        page = _Route(HTML, body=viewer_page(self.source), headers=NO_STORE)
        index = _Route(HTML, body=SCOPE_INDEX, headers=NO_STORE)
        archive_type = "application/wacz" if self.source.is_wacz else "application/warc"
        archive = _Route(archive_type, file=self.source.archive, headers=NO_STORE, ranges=True)
        return {
            "/": page,
            "/index.html": page,
            "/ui.js": ui,
            REPLAY_SCOPE + "ui.js": ui,
            REPLAY_SCOPE + "sw.js": sw,
            REPLAY_SCOPE: index,
            REPLAY_SCOPE + "index.html": index,
            self.source.served_path: archive,
        }

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start(self) -> "ReplayServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="replay-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(10)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- the pywb fallback -----------------------------------------------------------------


def _pywb_tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise UserError(f"pywb is not installed ({name} not found)", hint="pip install pywb, or install ReplayWeb.page with scripts/bootstrap.sh")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class PywbServer:
    """pywb's `wayback` over the source's WARCs (or WACZ, unpacked), in WORKDIR, on
    127.0.0.1. Framed replay: pywb's banner shows the capture time above the page."""

    COLLECTION = "evidence"

    def __init__(self, source: ReplaySource, workdir: Path, port: int = 0, startup_timeout: float = 60.0):
        self.source = source
        self.workdir = Path(workdir) / "pywb"
        self.startup_timeout = startup_timeout
        if port:
            with socket.socket() as sock:
                try:
                    sock.bind((HOST, port))
                except OSError as exc:
                    raise UserError(f"port {port} on {HOST} is not available ({exc.strerror})", hint="choose another --port, or leave it out for a free one") from None
        self.port = port or free_port()
        self.log_path = self.workdir / "wayback.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        base = f"http://{HOST}:{self.port}/{self.COLLECTION}/"
        if not self.source.url:
            return base
        return f"{base}{self.source.ts or ''}/{self.source.url}" if self.source.ts else f"{base}{self.source.url}"

    def _manager(self, *args: str) -> None:
        done = subprocess.run([_pywb_tool("wb-manager"), *args], cwd=self.workdir, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise UserError(f"pywb could not load the archive: wb-manager {args[0]} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")

    def start(self) -> "PywbServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "config.yaml").write_text("framed_replay: true\n")
        self._manager("init", self.COLLECTION)
        files = [str(p) for p in self.source.warcs]
        if any(p.lower().endswith(".wacz") for p in files):
            self._manager("add", "--unpack-wacz", self.COLLECTION, *files)
        else:
            self._manager("add", self.COLLECTION, *files)
        with open(self.log_path, "wb") as log_file:
            self.proc = subprocess.Popen(
                [_pywb_tool("wayback"), "-b", HOST, "-p", str(self.port)],
                cwd=self.workdir, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        deadline = time.monotonic() + self.startup_timeout
        probe = f"http://{HOST}:{self.port}/{self.COLLECTION}/"
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise UserError(f"pywb exited while starting (log: {self.log_path})")
            try:
                with opener.open(probe, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        raise UserError(f"pywb did not answer within {self.startup_timeout:.0f}s (log: {self.log_path})")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # our own child, by its PID
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def __enter__(self) -> "PywbServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
