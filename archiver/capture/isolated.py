"""Our page scripts (behaviours, scrolling) run in a JavaScript world of their own, not in the
page's: the same DOM, but none of the page's globals. A page that replaces
`Element.prototype.click`, `document.querySelectorAll`, `Array.from`, `setTimeout` or
`window.scrollTo` (a hostile page, or an old library's "polyfill") cannot change what our
scripts see or do; nor can it see them. Chromium's isolated worlds, the mechanism extensions'
content scripts use, reached through CDP (`Page.createIsolatedWorld`, `Runtime.evaluate`).

A world dies with its document, so one is made for each call (two CDP round trips, ~1 ms).
Cross-origin child frames live in other renderer targets; scripts run there with Playwright's
`frame.evaluate` (the frame's main world), see behaviours/runner.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from playwright.async_api import CDPSession, Page
from playwright.async_api import Error as PlaywrightError

WORLD = "archiver"


class WorldError(Exception):
    """A script of ours did not come back with a result."""


class Navigated(WorldError):
    """The document the script ran in went away under it: after a click, usually."""


class ScriptError(WorldError):
    """The script threw, or the page is gone."""


GONE = ("Execution context was destroyed", "Cannot find context with specified id", "detached",
        "Inspected target navigated or closed", "No frame with given id")


class IsolatedWorld:
    def __init__(self, page: Page):
        self.page = page
        self._cdp: CDPSession | None = None

    async def _session(self) -> CDPSession:
        if self._cdp is None:
            self._cdp = await self.page.context.new_cdp_session(self.page)
        return self._cdp

    async def evaluate(self, script: str, arg: Any = None, timeout: float = 5.0) -> Any:
        """`script` is a JS function (sync or async); its result comes back as JSON."""
        return await asyncio.wait_for(self._evaluate(script, arg), timeout)

    async def _evaluate(self, script: str, arg: Any) -> Any:
        try:
            cdp = await self._session()
            tree = await cdp.send("Page.getFrameTree")
            world = await cdp.send("Page.createIsolatedWorld", {
                "frameId": tree["frameTree"]["frame"]["id"], "worldName": WORLD,
            })
            reply = await cdp.send("Runtime.evaluate", {
                "expression": f"({script})({json.dumps(arg)})",
                "contextId": world["executionContextId"],
                "awaitPromise": True,
                "returnByValue": True,
            })
        except PlaywrightError as exc:
            message = (exc.message or str(exc)).splitlines()[0]
            if any(sign in message for sign in GONE):
                raise Navigated(message) from exc
            raise ScriptError(message) from exc
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            message = (details.get("exception") or {}).get("description") or details.get("text") or "script error"
            if any(sign in message for sign in GONE):
                raise Navigated(message)
            raise ScriptError(message.splitlines()[0][:300])
        return reply.get("result", {}).get("value")

    async def close(self) -> None:
        if self._cdp is not None:
            cdp, self._cdp = self._cdp, None
            try:
                await asyncio.wait_for(cdp.detach(), 5.0)
            except (PlaywrightError, asyncio.TimeoutError):
                pass  # the page is already closed, or the browser hangs (the context close ends it)
