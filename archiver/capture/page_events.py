"""What a page does to us during a capture: dialogs, popups, downloads. Each is handled
(dismissed, recorded then closed, recorded into the WARC only) and logged, within bounds:
a page that loops on alert() or window.open() cannot grow the log without limit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field

from playwright.async_api import BrowserContext, Dialog, Download, Page
from playwright.async_api import Error as PlaywrightError

from ..models import DialogEvent, DownloadEvent, PopupEvent
from .recorder import BodyBudget, Recorder

MAX_LOGGED = 100  # events of one kind kept in provenance; the rest are only counted
POPUP_LOAD_WAIT = 5.0  # seconds a popup may load (and be recorded) before it is closed
DOWNLOAD_WAIT = 15.0


@dataclass
class PageEvents:
    dialogs: list[DialogEvent] = field(default_factory=list)
    popups: list[PopupEvent] = field(default_factory=list)
    downloads: list[DownloadEvent] = field(default_factory=list)
    not_logged: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, bucket: list, event: object) -> None:
        if len(bucket) < MAX_LOGGED:
            bucket.append(event)
        else:
            self.not_logged[kind] = self.not_logged.get(kind, 0) + 1


class PageGuard:
    def __init__(self, recorder: Recorder, context_id: str, budget: BodyBudget):
        self.recorder = recorder
        self.context_id = context_id
        self.budget = budget
        self.events = PageEvents()
        self._tasks: set[asyncio.Task[None]] = set()

    def watch(self, context: BrowserContext, page: Page) -> None:
        def on_page(new_page: Page) -> None:
            new_page.on("dialog", self._on_dialog)
            if new_page is not page:
                self._spawn(self._close_popup(new_page))

        page.on("dialog", self._on_dialog)
        page.on("download", lambda d: self._spawn(self._on_download(d)))
        context.on("page", on_page)

    async def settle(self, timeout: float = 10.0) -> None:
        """Let popups close and downloads finish (bounded) before the recorder drains."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_dialog(self, dialog: Dialog) -> None:
        url = dialog.page.url if dialog.page else None
        event = DialogEvent(type=dialog.type, message=dialog.message[:2000], url=url)
        self.events.add("dialog", self.events.dialogs, event)
        await _quietly(dialog.dismiss())

    async def _close_popup(self, popup: Page) -> None:
        try:
            await popup.wait_for_load_state("domcontentloaded", timeout=POPUP_LOAD_WAIT * 1000)
        except PlaywrightError:
            pass
        url = popup.url
        await _quietly(popup.close())
        self.events.add("popup", self.events.popups, PopupEvent(url=url))

    async def _on_download(self, download: Download) -> None:
        event = DownloadEvent(
            url=download.url, suggested_filename=download.suggested_filename, size=None, recorded=False
        )
        self.events.add("download", self.events.downloads, event)
        try:
            path = await asyncio.wait_for(download.path(), DOWNLOAD_WAIT)
        except (asyncio.TimeoutError, PlaywrightError) as exc:
            event.note = f"download did not finish: {exc}"
            await _quietly(download.cancel())
            return
        try:
            size = path.stat().st_size
            event.size = size
            keep = self.budget.take(size)
            with open(path, "rb") as fh:
                data = fh.read(keep)
        finally:
            await _quietly(download.delete())  # never left outside the capture
        # the download's exchange is held by the recorder until the drain: give it the bytes
        event.recorded = self.recorder.attach_download(self.context_id, download.url, data, keep == size)
        if keep < size:
            event.note = f"kept {keep} of {size} bytes (size limit)"


async def _quietly(awaitable: Awaitable[object]) -> None:
    try:
        await awaitable
    except PlaywrightError:
        pass
