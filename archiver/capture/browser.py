"""Find a Chromium and launch it so that both Playwright and our recorder can attach.

Resolution order: ARCHIVER_CHROMIUM / config `browser.executable_path`, Playwright's own
installed browser, then a system Chromium. We start the process ourselves (not through
Playwright's launch) so that we know every flag it ran with, and so a DevTools websocket
is open for the recorder next to Playwright's connection.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..config import BrowserSettings
from ..errors import BrowserNotFound

SYSTEM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SYSTEM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")

# Flags every capture browser runs with; recorded in provenance.
BASE_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-breakpad",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--mute-audio",
    "--hide-scrollbars",
    "--disable-popup-blocking",  # let popups open so they are recorded, logged and closed
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider",
)


def playwright_browser_path() -> str | None:
    """Playwright's own downloaded Chromium, if `playwright install chromium` was run."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            path = pw.chromium.executable_path
    except PlaywrightError:
        return None
    return path if path and os.access(path, os.X_OK) else None


def system_browser_path() -> str | None:
    for name in SYSTEM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    for path in SYSTEM_PATHS:
        if os.access(path, os.X_OK):
            return path
    return None


def find_browser(settings: BrowserSettings, use_playwright: bool = True) -> str:
    configured = os.environ.get("ARCHIVER_CHROMIUM") or settings.executable_path
    if configured:
        if os.access(configured, os.X_OK):
            return configured
        raise BrowserNotFound(
            f"the configured Chromium {configured!r} is not an executable file",
            hint="fix ARCHIVER_CHROMIUM or browser.executable_path",
        )
    found = (playwright_browser_path() if use_playwright else None) or system_browser_path()
    if found:
        return found
    raise BrowserNotFound("no Chromium found", hint=install_hint())


def install_hint() -> str:
    if Path("/etc/debian_version").exists():
        return "run: sudo apt-get install -y chromium"
    if platform.system() == "Darwin":
        return "run: python -m playwright install chromium"
    return "run: python -m playwright install chromium (or set ARCHIVER_CHROMIUM)"


def ensure_browser(settings: BrowserSettings) -> str:
    """Find a Chromium; on Debian/Ubuntu as root with none, install Debian's package."""
    try:
        return find_browser(settings)
    except BrowserNotFound:
        can_apt = Path("/etc/debian_version").exists() and os.geteuid() == 0
        if not can_apt or not shutil.which("apt-get"):
            raise
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    result = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False)
    if result.returncode != 0:
        raise BrowserNotFound("apt-get could not install chromium", hint=install_hint())
    return find_browser(settings, use_playwright=False)


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGKILL the browser if our process dies, even by
    kill -9, so no orphaned Chromium is left holding a capture's profile."""
    libc_name = ctypes.util.find_library("c")
    if libc_name and platform.system() == "Linux":
        ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class LaunchedBrowser:
    """A running Chromium with a DevTools endpoint on 127.0.0.1."""

    executable: str
    process: subprocess.Popen[bytes]
    ws_url: str
    http_url: str
    flags: list[str]
    user_data_dir: tempfile.TemporaryDirectory[str] = field(repr=False)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.user_data_dir.cleanup()


def browser_flags(settings: BrowserSettings, user_data_dir: str) -> list[str]:
    flags = [
        *BASE_FLAGS,
        f"--user-data-dir={user_data_dir}",
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
        f"--window-size={settings.viewport_width},{settings.viewport_height}",
    ]
    if settings.headless:
        flags.append("--headless")
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    flags.extend(settings.extra_args)
    flags.append("about:blank")
    return flags


PROFILE_PREFIX = "archiver-chromium-"


def sweep_stale_profiles(root: Path | None = None, min_age: float = 60.0) -> list[Path]:
    """Remove the temporary profiles of capture browsers that were killed (kill -9 leaves
    them behind): those whose SingletonLock names a process that no longer exists."""
    root = root or Path(tempfile.gettempdir())
    removed = []
    for folder in root.glob(PROFILE_PREFIX + "*"):
        lock = folder / "SingletonLock"
        try:
            if time.time() - folder.stat().st_mtime < min_age or not lock.is_symlink():
                continue
            pid = int(os.readlink(lock).rsplit("-", 1)[-1])
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, 0)
            continue  # its browser still runs
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # someone else's live process
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


async def launch_browser(settings: BrowserSettings, timeout: float = 30.0) -> LaunchedBrowser:
    executable = find_browser(settings)
    sweep_stale_profiles()
    user_data_dir = tempfile.TemporaryDirectory(prefix=PROFILE_PREFIX)
    flags = browser_flags(settings, user_data_dir.name)
    process = subprocess.Popen(
        [executable, *flags],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # own process group: close() ends the browser and its helpers
        preexec_fn=_die_with_parent,
    )
    port_file = Path(user_data_dir.name) / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            user_data_dir.cleanup()
            raise BrowserNotFound(
                f"Chromium at {executable} exited at start (code {process.returncode})",
                hint="run it by hand with --headless to see why, or set ARCHIVER_CHROMIUM",
            )
        text = port_file.read_text() if port_file.exists() else ""
        lines = text.splitlines()
        if len(lines) >= 2:
            break
        if time.monotonic() > deadline:
            process.kill()
            user_data_dir.cleanup()
            raise BrowserNotFound(f"Chromium at {executable} did not open DevTools in {timeout}s")
        await asyncio.sleep(0.02)
    port, path = lines[0].strip(), lines[1].strip()
    return LaunchedBrowser(
        executable=executable,
        process=process,
        ws_url=f"ws://127.0.0.1:{port}{path}",
        http_url=f"http://127.0.0.1:{port}",
        flags=flags[:-1],
        user_data_dir=user_data_dir,
    )
