"""Take what a person would look at: screenshots, the DOM after load, a PDF print.

Each attachment is bounded in time; one that fails or times out is reported and the
others are still taken. Bytes are returned, the session writes them (file + WARC record).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from ..config import LimitSettings
from .isolated import IsolatedWorld, WorldError

COUNT_NODES = "() => document.getElementsByTagName('*').length"
PAGE_HEIGHT = (
    "() => Math.max(document.documentElement.scrollHeight,"
    " document.body ? document.body.scrollHeight : 0)"
)


@dataclass
class Taken:
    kind: str
    filename: str
    media_type: str
    uri_prefix: str  # WARC-Target-URI is uri_prefix + page URL (Webrecorder's urn: style)
    data: bytes | None
    note: str | None = None


@dataclass
class Spec:
    kind: str
    filename: str
    media_type: str
    uri_prefix: str


VIEWPORT = Spec("screenshot-viewport", "screenshot-viewport.png", "image/png", "urn:view:")
FULL_PAGE = Spec("screenshot-full", "screenshot-full.png", "image/png", "urn:fullPage:")
DOM = Spec("dom", "dom.html", "text/html; charset=utf-8", "urn:dom:")
PDF = Spec("pdf", "page.pdf", "application/pdf", "urn:pdf:")


async def _bounded(make: Callable[[], Awaitable[bytes]], timeout: float) -> tuple[bytes | None, str | None]:
    try:
        return await asyncio.wait_for(make(), timeout), None
    except asyncio.TimeoutError:
        return None, f"timed out after {timeout:.0f}s"
    except PlaywrightError as exc:
        return None, f"failed: {exc.message.splitlines()[0]}"


async def take_attachments(page: Page, world: IsolatedWorld, limits: LimitSettings) -> tuple[list[Taken], list[str]]:
    """Returns what was taken and the limits that were hit (as text). The page's size is read
    in our isolated world: a page cannot talk its way past max_dom_nodes."""
    timeout = limits.attachments_timeout / 4
    hits: list[str] = []
    taken: list[Taken] = []

    def add(spec: Spec, data: bytes | None, note: str | None) -> None:
        taken.append(Taken(spec.kind, spec.filename, spec.media_type, spec.uri_prefix, data, note))

    data, note = await _bounded(lambda: page.screenshot(timeout=timeout * 1000), timeout)
    add(VIEWPORT, data, note)

    nodes, height = None, None
    try:
        nodes = await world.evaluate(COUNT_NODES, None, timeout)
        height = await world.evaluate(PAGE_HEIGHT, None, timeout)
    except (asyncio.TimeoutError, WorldError):
        pass
    too_big = nodes is not None and nodes > limits.max_dom_nodes
    if too_big:
        hits.append(
            f"max_dom_nodes: {nodes} elements > {limits.max_dom_nodes}; no full-page shot, no PDF"
        )
        add(FULL_PAGE, None, f"skipped: {nodes} elements")
    else:
        clip = None
        if height is not None and height > limits.max_screenshot_height:
            size = page.viewport_size or {"width": 1600}
            clip = {"x": 0, "y": 0, "width": size["width"], "height": limits.max_screenshot_height}
            hits.append(
                f"max_screenshot_height: page is {height}px, full-page shot cut at "
                f"{limits.max_screenshot_height}px"
            )
        data, note = await _bounded(
            lambda: page.screenshot(full_page=True, clip=clip, timeout=timeout * 1000), timeout
        )
        add(FULL_PAGE, data, note)

    async def dom() -> bytes:
        return (await page.content()).encode("utf-8")

    data, note = await _bounded(dom, timeout)
    add(DOM, data, note)

    if too_big:
        add(PDF, None, f"skipped: {nodes} elements")
    else:
        data, note = await _bounded(lambda: page.pdf(print_background=True), timeout)
        add(PDF, data, note)
    return taken, hits
