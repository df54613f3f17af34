"""Test helpers: one capture engine (one Chromium) per test session, driven from sync tests,
and readers that open what a capture wrote."""

from __future__ import annotations

import asyncio
import os
import tempfile
import json
import subprocess
import sys
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from fixtures.platform_web import host_rules as platform_host_rules

from archiver.config import Settings, load_settings
from archiver.pipeline import CaptureCase, Captured

# fixture hosts: *.test, and the platforms' own hosts (x.com, t.me, ...) served by PlatformWeb
HOST_RULES = "--host-resolver-rules=MAP nosuch.test ~NOTFOUND, MAP *.test 127.0.0.1, " + platform_host_rules()
CHROMIUM = "/usr/bin/chromium"


def make_settings(out_dir: Path, tsa_url: str | None = None, tsa_root: Path | None = None, **limits: Any) -> Settings:
    """Settings for tests: fixture hosts mapped to 127.0.0.1, short limits, a station key
    beside the output, timestamps from the local TSA (or none)."""
    base_limits = {
        "capture_timeout": 30.0,
        "load_timeout": 10.0,
        "network_idle_timeout": 4.0,
        "network_idle_quiet": 0.3,
        "scroll_timeout": 8.0,
    }
    base_limits.update(limits)
    return load_settings(
        overrides={
            "output_dir": out_dir,
            "network": {"allow_private": True},
            "browser": {"extra_args": [HOST_RULES]},
            "limits": base_limits,
            "identity": {"key_path": Path(out_dir).parent / f"{Path(out_dir).name}-station.pem"},
            # yt-dlp talks to the network itself (no Chromium host rules): only tests that
            # point it at 127.0.0.1 switch it on
            "platforms": {"yt_dlp": False, "profiles_dir": Path(out_dir).parent / f"{Path(out_dir).name}-profiles"},
            "timestamp": {
                "enabled": tsa_url is not None,
                "tsa_urls": [tsa_url] if tsa_url else [],
                "timeout": 5.0,
                "trusted_roots": [tsa_root] if tsa_root else [],
            },
        },
        environ={},
    )


class EngineThread:
    """A capture run (one browser, one case, captures sealed as they finish) living in its
    own event-loop thread; tests call it synchronously."""

    def __init__(self, settings: Settings, resolver=None, case: str = "tests"):
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        kwargs = {"resolver": resolver} if resolver else {}
        self.run_case = CaptureCase(settings, case, **kwargs)
        self.run(self.run_case.__aenter__(), timeout=60)

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def capture(self, url: str, **changes: Any) -> Captured:
        settings = self.settings
        if changes:
            data = settings.model_dump()
            for section, values in changes.items():
                data[section].update(values)
            settings = Settings.model_validate(data)
        return self.run(self.run_case.capture(url, settings=settings))

    def close(self) -> None:
        self.run(self.run_case.__aexit__(None, None, None), timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def warc_records(path: Path) -> list[dict[str, Any]]:
    """Every record of a WARC as a dict: type, uri, headers, http status/headers, payload."""
    records = []
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh, check_digests=True):
            http = rec.http_headers
            payload = rec.content_stream().read()
            records.append(
                {
                    "type": rec.rec_type,
                    "uri": rec.rec_headers.get_header("WARC-Target-URI"),
                    "warc": dict(rec.rec_headers.headers),
                    "warc_list": list(rec.rec_headers.headers),
                    "status_line": http.protocol + " " + http.statusline if http and rec.rec_type == "response" else (http.protocol if http else None),
                    "status": int(http.get_statuscode()) if http and rec.rec_type == "response" else None,
                    "http": dict(http.headers) if http else {},
                    "http_list": list(http.headers) if http else [],
                    "payload": payload,
                    "digest_ok": rec.digest_checker.passed,
                }
            )
    return records


def responses(records: list[dict[str, Any]], uri_part: str) -> list[dict[str, Any]]:
    return [r for r in records if r["type"] == "response" and uri_part in r["uri"]]


def warcio_check(path: Path) -> subprocess.CompletedProcess[str]:
    warcio = Path(sys.executable).with_name("warcio")
    return subprocess.run([str(warcio), "check", "-v", str(path)], capture_output=True, text=True)


def provenance(result: Captured) -> dict[str, Any]:
    return json.loads((result.path / "provenance.json").read_text())


def gunzip_records_count(path: Path) -> int:
    """How many gzip members (one per record) the file holds."""
    data = path.read_bytes()
    count, pos = 0, 0
    while pos < len(data):
        d = __import__("zlib").decompressobj(31)
        d.decompress(data[pos:])
        pos = len(data) - len(d.unused_data)
        count += 1
    return count


VIEWER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def launch_viewer(pw):
    """A plain Chromium (sync Playwright) for looking at replays, as a reader would."""
    return pw.chromium.launch(executable_path=CHROMIUM, args=VIEWER_ARGS)


def checked_records(path: Path) -> list[dict[str, Any]]:
    """The WARC's records, after `warcio check` passed on it, every digest held, and every
    record sat in its own gzip member."""
    checked = warcio_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "digest pass" in checked.stdout
    records = warc_records(path)
    assert all(r["digest_ok"] is not False for r in records)
    assert gunzip_records_count(path) == len(records)
    return records


POST_TEXT = "Pejabat terlihat off-road di hari kerja"
REPLY_TEXT = "Ini jam kerja, bukan?"


def assert_post_replayed(pw, replay, url: str) -> None:
    """Open the demo post in a replay (pywb) as a reader would: its text, its reply and the
    photos its script inserted must show, served from the archive, nothing from elsewhere."""
    browser = launch_viewer(pw)
    try:
        page = browser.new_page()
        origin = replay.base.rsplit("/", 2)[0]
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(origin) else outside.append(r.url))
        page.goto(replay.replay_url(url), wait_until="load")
        page.wait_for_selector(f"text={REPLY_TEXT}", timeout=15000)
        assert POST_TEXT in page.inner_text("body")
        page.wait_for_function(
            "() => [...document.querySelectorAll('img[src*=\"/media/photo\"]')]"
            ".filter(i => i.complete && i.naturalWidth > 0).length >= 2",
            timeout=15000,
        )
        sources = page.eval_on_selector_all("img[src*='/media/photo']", "els => els.map(e => e.currentSrc)")
        assert sources and all(replay.base in s for s in sources), sources
        assert not outside, f"replay reached outside the archive: {outside}"
    finally:
        browser.close()


ARCHIVER = str(Path(sys.executable).with_name("archiver"))
CLI_KEY_DIR = Path(tempfile.mkdtemp(prefix="archiver-test-station-"))


def run_cli(
    *args: str,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 180,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The `archiver` command as a user runs it; the station key goes to a temp folder,
    not ~/.config. `env` adds to (or, with "", blanks) environment variables."""
    env = {**os.environ, "ARCHIVER_IDENTITY__KEY_PATH": str(CLI_KEY_DIR / "station-key.pem"), **(env or {})}
    return subprocess.run(
        [ARCHIVER, *args], capture_output=True, text=True, input=stdin, cwd=cwd, timeout=timeout, env=env
    )


def capture_post(engine: "EngineThread", url: str, **changes: Any) -> tuple[Captured, dict[str, Any] | None]:
    """Capture `url` with the real browser; return the capture and its post.json (or None)."""
    captured = engine.capture(url, **changes)
    post = captured.path / "post.json"
    return captured, (json.loads(post.read_text()) if post.exists() else None)


def assert_post_shot(folder: Path, narrower_than: int | None = 1600) -> None:
    """post.png is the post element alone: a real PNG, narrower than the page (platform
    posts; a generic page's article may span it), recorded as the `screenshot-post`
    attachment with the same bytes (sha256) and the selector that found it."""
    import hashlib

    from PIL import Image

    shot = folder / "post.png"
    with Image.open(shot) as img:
        assert img.format == "PNG"
        width, height = img.size
    assert width > 50 and height > 50, (width, height)
    if narrower_than is not None:
        assert width < narrower_than, (width, height)
    prov = json.loads((folder / "provenance.json").read_text())
    [att] = [a for a in prov["attachments"] if a["kind"] == "screenshot-post"]
    assert att["path"] == "post.png" and att["sha256"] == hashlib.sha256(shot.read_bytes()).hexdigest()
    assert att["note"].startswith("element ") and prov["post"]["element_screenshot"] == "post.png"
