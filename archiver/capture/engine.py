"""One browser, one recorder, one Playwright connection, shared by many captures.

    async with CaptureEngine(settings) as engine:
        result = await engine.capture("https://example.org/post/1", case="default")
"""

from __future__ import annotations

import asyncio
import platform
import sys
from importlib.metadata import version as package_version
from pathlib import Path

import websockets
from playwright.async_api import Browser, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from .. import SOFTWARE_NAME, __version__
from ..config import Settings
from ..errors import BrowserNotFound
from ..models import Software
from .browser import LaunchedBrowser, launch_browser
from ..profiles import load_profile
from .netguard import NetGuard, Resolver, system_resolver
from .recorder import Recorder
from ..warc.writer import Lookup
from .session import CaptureResult, CaptureSession


class CaptureEngine:
    def __init__(self, settings: Settings, resolver: Resolver = system_resolver):
        self.settings = settings
        self.guard = NetGuard(settings.network.allow_private, resolver)
        self.launched: LaunchedBrowser | None = None
        self.recorder: Recorder | None = None
        self._pw_manager = None
        self.playwright: Playwright | None = None
        self.browser: Browser | None = None
        self.software: Software | None = None

    async def __aenter__(self) -> "CaptureEngine":
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        # The browser and Playwright's driver start side by side (each takes ~0.3 s).
        self._pw_manager = async_playwright()
        self.launched, self.playwright = await asyncio.gather(
            launch_browser(self.settings.browser), self._pw_manager.__aenter__()
        )
        try:
            self.recorder = await Recorder.attach(
                self.launched.ws_url, self.guard, self.settings.limits.max_response_bytes
            )
            self.browser = await self.playwright.chromium.connect_over_cdp(self.launched.http_url)
        except (OSError, websockets.WebSocketException, PlaywrightError) as exc:
            raise BrowserNotFound(
                f"Chromium stopped while starting ({type(exc).__name__}: {exc})",
                hint="run it again; if it keeps happening, check memory and `archiver browser path`",
            ) from None
        info = await self.recorder.conn.send("Browser.getVersion")
        self.software = Software(
            name=SOFTWARE_NAME,
            version=__version__,
            python=sys.version.split()[0],
            playwright=package_version("playwright"),
            browser=info.get("product", "unknown"),
            browser_executable=self.launched.executable,
            browser_flags=self.launched.flags,
            user_agent=self.settings.browser.user_agent or info.get("userAgent", ""),
            os=f"{platform.system()} {platform.release()} ({platform.machine()})",
        )

    @property
    def alive(self) -> bool:
        """False once the browser process has died (crash, OOM kill)."""
        return self.launched is not None and self.launched.process.poll() is None

    async def stop(self) -> None:
        if self.browser is not None:
            await self.browser.close()
            self.browser = None
        if self._pw_manager is not None:
            await self._pw_manager.__aexit__(None, None, None)
            self._pw_manager = None
        if self.recorder is not None:
            await self.recorder.close()
            self.recorder = None
        if self.launched is not None:
            self.launched.close()
            self.launched = None

    async def capture(
        self,
        url: str,
        case: str | None = None,
        out_dir: Path | None = None,
        settings: Settings | None = None,
        dedup: Lookup | None = None,
        name: str | None = None,
    ) -> "CaptureResult":
        """Capture one URL. `settings` may change the limits and the per-capture browser
        options (viewport, user agent, https errors); the browser itself and the network
        guard stay as the engine was started."""
        settings = settings or self.settings
        state, profile = None, None
        if settings.platforms.profile:
            state, profile = load_profile(settings, settings.platforms.profile)
        session = CaptureSession(
            self,
            settings,
            url=url,
            case=case or settings.default_case,
            out_dir=out_dir or settings.output_dir,
            dedup=dedup,
            name=name,
            storage_state=state,
            profile=profile,
        )
        return await session.run()
