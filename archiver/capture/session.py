"""One URL, one page load, one capture folder. The load is a list of steps, run as data:

    navigate -> network idle -> scroll through -> network idle -> back to top
    -> attachments (always, unless the load failed) -> drain the recorder -> provenance

The folder is built as `.incomplete-<name>` and renamed to `<name>` when finished, so an
interrupted run never leaves something that looks like a finished capture.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Dialog, Download, Page
from playwright.async_api import Error as PlaywrightError

from ..config import Settings
from ..models import (
    Attachment,
    CaptureState,
    DialogEvent,
    DownloadEvent,
    FailedRequest,
    LimitHit,
    PopupEvent,
    Provenance,
    RedirectHop,
    StepRecord,
    TLSInfo,
    WarcSummary,
)
from ..storage.atomic import atomic_write_bytes, atomic_write_model, fsync_dir
from ..warc.dedup import Original
from ..warc.writer import Lookup, WarcWriter
from .attachments import take_attachments
from .behaviours.scroll import scroll_through, scroll_to_top
from .exchange import BodyState, Exchange
from .netguard import validate_url
from .recorder import BodyBudget

if TYPE_CHECKING:
    from .engine import CaptureEngine

log = logging.getLogger(__name__)

WARC_NAME = "archive.warc.gz"
PROVENANCE_NAME = "provenance.json"
INCOMPLETE_PREFIX = ".incomplete-"


class StepTimeout(Exception):
    pass


@dataclass
class CaptureResult:
    path: Path
    provenance: Provenance
    # payload digest -> first response record of this capture (for the case's dedup index)
    originals: dict[str, Original] = field(default_factory=dict)

    @property
    def state(self) -> CaptureState:
        return self.provenance.state


def capture_name(url: str, started: datetime) -> str:
    host = (urlsplit(url).hostname or "unknown").replace(":", "_")
    return f"{started:%Y%m%dT%H%M%SZ}_{host}_{uuid.uuid4().hex[:6]}"


@dataclass
class _Log:
    """What happened during the load, gathered for provenance."""

    steps: list[StepRecord] = field(default_factory=list)
    limits: list[LimitHit] = field(default_factory=list)
    dialogs: list[DialogEvent] = field(default_factory=list)
    popups: list[PopupEvent] = field(default_factory=list)
    downloads: list[DownloadEvent] = field(default_factory=list)
    failed: list[FailedRequest] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    exchanges: int = 0
    responses: int = 0
    main_document: Exchange | None = None


class CaptureSession:
    def __init__(
        self,
        engine: "CaptureEngine",
        settings: Settings,
        url: str,
        case: str,
        out_dir: Path,
        dedup: Lookup | None = None,
    ):
        self.engine = engine
        self.dedup = dedup
        self.settings = settings
        self.limits = settings.limits
        self.url = validate_url(url)
        self.case = case
        self.started = datetime.now(timezone.utc)
        self.name = capture_name(self.url, self.started)
        self.case_dir = Path(out_dir) / case
        self.final_dir = self.case_dir / self.name
        self.work_dir = self.case_dir / f"{INCOMPLETE_PREFIX}{self.name}"
        self.log = _Log()
        self.deadline = time.monotonic() + self.limits.capture_timeout
        self.failure: str | None = None
        self.title: str | None = None
        self.budget = BodyBudget(self.limits.max_response_bytes, self.limits.max_total_bytes)
        self._background: set[asyncio.Task[None]] = set()

    # -- the run ----------------------------------------------------------------------

    async def run(self) -> CaptureResult:
        self.work_dir.mkdir(parents=True, exist_ok=False)
        writer = WarcWriter(self.work_dir / WARC_NAME, self.dedup, self.settings.dedup.min_size)
        engine = self.engine
        assert engine.browser and engine.recorder and engine.software
        writer.write_warcinfo(self._warcinfo())
        context = await engine.browser.new_context(**self._context_options())
        page = await context.new_page()
        context_id = await self._context_id(context, page)
        recording = engine.recorder.context(context_id)
        recording.body_budget = self.budget
        recording.sink = lambda ex: self._on_exchange(writer, ex)
        self._watch(context, page)
        attachments: list[Attachment] = []
        try:
            await self._load(page, context_id)
            if self.failure is None:
                attachments = await self._attachments(page, writer)
        finally:
            await self._step(
                "drain", 6.0, lambda: engine.recorder.drain(context_id, 5.0), own_budget=True
            )
            await self._settle_background()
            recording.sink = None
            engine.recorder.release(context_id)
            await self._close_context(context)
        provenance = self._provenance(recording, attachments, writer)
        writer.write_resource_bytes(
            f"urn:provenance:{self.url}",
            provenance.model_dump_json(indent=2).encode(),
            "application/json",
        )
        provenance.warc = self._warc_summary(writer)  # now counting the provenance record
        writer.close()
        atomic_write_model(self.work_dir / PROVENANCE_NAME, provenance)
        self.work_dir.rename(self.final_dir)
        fsync_dir(self.case_dir)
        return CaptureResult(self.final_dir, provenance, dict(writer.seen))

    async def _load(self, page: Page, context_id: str) -> None:
        recorder = self.engine.recorder
        assert recorder is not None
        ok = await self._step("navigate", self.limits.load_timeout, lambda: self._navigate(page))
        if self.failure is not None:
            return
        if not ok:
            self._hit("load_timeout", f"no load event within {self.limits.load_timeout:.0f}s")
        idle = self.limits.network_idle_timeout
        quiet = self.limits.network_idle_quiet

        async def wait_idle() -> None:
            if not await recorder.wait_idle(context_id, quiet, self._remaining(idle)):
                raise StepTimeout(f"requests still open after {idle:.0f}s")

        await self._step("network-idle", idle, wait_idle)

        async def scroll() -> str:
            rec = recorder.context(context_id)
            result = await scroll_through(
                page,
                self._remaining(self.limits.scroll_timeout),
                self.limits.max_scroll_height,
                busy=lambda: bool(rec.inflight),
            )
            if result.stopped != "bottom":
                self._hit(result.stopped, f"stopped scrolling at {result.reached}px of {result.height}px")
            return f"{result.steps} steps, {result.reached}px of {result.height}px, {result.stopped}"

        await self._step("scroll", self.limits.scroll_timeout, scroll)
        await self._step("network-idle-after-scroll", idle, wait_idle)
        await self._step("scroll-to-top", 5.0, lambda: scroll_to_top(page, 5.0))
        try:
            self.title = await asyncio.wait_for(page.title(), 5.0)
        except (asyncio.TimeoutError, PlaywrightError):
            self.title = None

    async def _navigate(self, page: Page) -> str:
        timeout_ms = self._remaining(self.limits.load_timeout) * 1000
        try:
            response = await page.goto(self.url, wait_until="load", timeout=timeout_ms)
        except PlaywrightError as exc:
            message = exc.message.splitlines()[0] if exc.message else str(exc)
            if "Timeout" in type(exc).__name__ or "Timeout" in message:
                raise StepTimeout(message) from None
            self.failure = _describe_navigation_error(message, self.url)
            return self.failure
        return f"HTTP {response.status}" if response else "no response"

    async def _attachments(self, page: Page, writer: WarcWriter) -> list[Attachment]:
        result: list[Attachment] = []

        async def take() -> str:
            taken, hits = await take_attachments(page, self.limits)
            for text in hits:
                limit, _, detail = text.partition(": ")
                self._hit(limit, detail)
            for item in taken:
                if item.data is None:
                    self.log.warnings.append(f"{item.kind} not taken: {item.note}")
                    continue
                path = self.work_dir / item.filename
                atomic_write_bytes(path, item.data)
                info = writer.write_resource_bytes(item.uri_prefix + self.url, item.data, item.media_type)
                result.append(
                    Attachment(
                        kind=item.kind,
                        path=item.filename,
                        media_type=item.media_type,
                        size=len(item.data),
                        sha256=hashlib.sha256(item.data).hexdigest(),
                        warc_uri=info.target_uri,
                        note=item.note,
                    )
                )
            return ", ".join(a.kind for a in result)

        await self._step("attachments", self.limits.attachments_timeout + 5, take, own_budget=True)
        return result

    # -- steps as data ----------------------------------------------------------------

    def _remaining(self, wanted: float) -> float:
        return max(0.0, min(wanted, self.deadline - time.monotonic()))

    async def _step(
        self,
        name: str,
        timeout: float,
        action: Callable[[], Awaitable[object]],
        own_budget: bool = False,
    ) -> bool:
        """Run one step within its time bound; record it. True when it finished in time."""
        started = datetime.now(timezone.utc)
        t0 = time.monotonic()
        budget = timeout if own_budget else self._remaining(timeout)
        outcome, detail = "ok", None
        if budget <= 0:
            outcome, detail = "skipped", "capture_timeout reached"
            self._hit("capture_timeout", f"step {name} skipped: capture time used up")
        else:
            try:
                result = await asyncio.wait_for(action(), budget + 1.0)
                detail = result if isinstance(result, str) else None
            except (StepTimeout, asyncio.TimeoutError) as exc:
                outcome, detail = "timeout", str(exc) or f"over {budget:.1f}s"
            except PlaywrightError as exc:  # page crashed or closed under us: record, go on
                outcome, detail = "error", (exc.message or str(exc)).splitlines()[0]
                self.log.warnings.append(f"step {name} failed: {detail}")
        if name.startswith("network-idle") and outcome == "timeout":
            self._hit("network_idle_timeout", f"{name}: {detail}")
        self.log.steps.append(
            StepRecord(
                name=name,
                started=started,
                duration_ms=int((time.monotonic() - t0) * 1000),
                outcome=outcome,
                detail=detail,
            )
        )
        return outcome == "ok"

    def _hit(self, limit: str, detail: str) -> None:
        for hit in self.log.limits:
            if hit.limit == limit:
                hit.detail += f"; {detail}"
                return
        self.log.limits.append(LimitHit(limit=limit, detail=detail))

    # -- page events ------------------------------------------------------------------

    def _watch(self, context: BrowserContext, page: Page) -> None:
        def on_page(new_page: Page) -> None:
            new_page.on("dialog", self._on_dialog)
            if new_page is not page:
                self._background_task(self._close_popup(new_page))

        page.on("dialog", self._on_dialog)
        page.on("download", lambda d: self._background_task(self._on_download(d)))
        context.on("page", on_page)

    def _background_task(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _settle_background(self) -> None:
        if self._background:
            await asyncio.wait(list(self._background), timeout=10)

    async def _on_dialog(self, dialog: Dialog) -> None:
        self.log.dialogs.append(
            DialogEvent(type=dialog.type, message=dialog.message[:2000], url=dialog.page.url if dialog.page else None)
        )
        try:
            await dialog.dismiss()
        except PlaywrightError:
            pass

    async def _close_popup(self, popup: Page) -> None:
        try:
            await popup.wait_for_load_state("domcontentloaded", timeout=5000)
        except PlaywrightError:
            pass
        url = popup.url
        try:
            await popup.close()
        except PlaywrightError:
            pass
        self.log.popups.append(PopupEvent(url=url))

    async def _on_download(self, download: Download) -> None:
        event = DownloadEvent(
            url=download.url, suggested_filename=download.suggested_filename, size=None, recorded=False
        )
        self.log.downloads.append(event)
        try:
            path = await asyncio.wait_for(download.path(), 15.0)
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
        recorder = self.engine.recorder
        assert recorder is not None
        # The download's exchange is held by the recorder until the drain; attach bytes.
        for recording_id, rec in recorder.contexts.items():
            if recorder.attach_download(recording_id, download.url, data, keep == size):
                event.recorded = True
                break
        if keep < size:
            event.note = f"kept {keep} of {size} bytes (size limit)"

    async def _close_context(self, context: BrowserContext) -> None:
        try:
            await asyncio.wait_for(context.close(), 10)
        except (asyncio.TimeoutError, PlaywrightError) as exc:
            self.log.warnings.append(f"browser context did not close cleanly: {exc}")

    # -- recording sink ---------------------------------------------------------------

    def _on_exchange(self, writer: WarcWriter, ex: Exchange) -> None:
        if not ex.hops:
            return
        written = writer.write_exchange(ex)
        self.log.exchanges += len(ex.hops)
        self.log.responses += len(written)
        first = ex.hops[0]
        if (
            self.log.main_document is None
            and ex.target_type == "page"
            and first.resource_type == "Document"
        ):
            self.log.main_document = ex
        if ex.error:
            self.log.failed.append(
                FailedRequest(
                    url=ex.last.url,
                    method=ex.last.method,
                    error=ex.error + (" (canceled)" if ex.canceled else ""),
                    blocked=bool(ex.blocked_reason) or ex.error == "net::ERR_BLOCKED_BY_CLIENT",
                    target=ex.target_type,
                )
            )

    # -- provenance -------------------------------------------------------------------

    def _context_options(self) -> dict[str, object]:
        b = self.settings.browser
        options: dict[str, object] = {
            "viewport": {"width": b.viewport_width, "height": b.viewport_height},
            "ignore_https_errors": b.ignore_https_errors,
            "accept_downloads": True,
            "locale": b.locale,
            "timezone_id": b.timezone,
            "service_workers": "allow",
        }
        if b.user_agent:
            options["user_agent"] = b.user_agent
        return options

    async def _context_id(self, context: BrowserContext, page: Page) -> str:
        cdp = await context.new_cdp_session(page)
        try:
            info = await cdp.send("Target.getTargetInfo")
        finally:
            await cdp.detach()
        return info["targetInfo"]["browserContextId"]

    def _warcinfo(self) -> dict[str, str]:
        sw = self.engine.software
        assert sw is not None
        return {
            "software": f"{sw.name}/{sw.version} (Playwright {sw.playwright}, Python {sw.python})",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "browser": sw.browser,
            "user-agent": sw.user_agent,
            "os": sw.os,
            "capture-id": self.name,
            "requested-url": self.url,
            "options": self.settings.model_dump_json(exclude={"output_dir"}),
        }

    def _provenance(self, recording, attachments: list[Attachment], writer: WarcWriter) -> Provenance:
        main = self.log.main_document
        chain: list[RedirectHop] = []
        final = server_ip = protocol = None
        port = status = None
        if main is not None:
            for hop in main.hops:
                if hop.status is None:
                    continue
                location = None
                for name, value in (hop.response_headers or {}).items():
                    if name.lower() == "location":
                        location = value
                chain.append(RedirectHop(url=hop.url, status=hop.status, location=location))
            last = main.last
            final, status = last.url, last.status
            server_ip, port, protocol = last.remote_ip, last.remote_port, last.protocol
        tls = [
            _tls_info(origin, pems, main) for origin, pems in recording.certificates.items()
        ]
        failed = list(self.log.failed)
        for blocked in recording.blocked:
            if not any(f.url == blocked.url and f.blocked for f in failed):
                failed.append(FailedRequest(url=blocked.url, error=blocked.reason, blocked=True, target=blocked.target_type))
            else:
                for f in failed:
                    if f.url == blocked.url and f.blocked:
                        f.error = blocked.reason
        warnings = list(self.log.warnings) + list(recording.rebinding)
        if self.budget.truncated:
            self._hit("max_response_bytes/max_total_bytes", f"{self.budget.truncated} bodies truncated")
        if status is not None and status >= 400:
            warnings.append(f"the page answered HTTP {status}")
        state = CaptureState.COMPLETE
        if self.failure:
            state = CaptureState.FAILED
        elif self.log.limits:
            state = CaptureState.PARTIAL
        b = self.settings.browser
        return Provenance(
            capture_id=self.name,
            case=self.case,
            requested_url=self.url,
            final_url=final,
            redirect_chain=chain,
            http_status=status,
            title=self.title,
            state=state,
            failure=self.failure,
            limits_hit=self.log.limits,
            started=self.started,
            ended=datetime.now(timezone.utc),
            server_ip=server_ip,
            server_port=port,
            protocol=protocol,
            tls=tls,
            software=self.engine.software,
            viewport={"width": b.viewport_width, "height": b.viewport_height},
            options=self.settings.model_dump(mode="json", exclude={"output_dir"}),
            steps=self.log.steps,
            attachments=attachments,
            warc=self._warc_summary(writer),
            failed_requests=failed,
            dialogs=self.log.dialogs,
            popups=self.log.popups,
            downloads=self.log.downloads,
            warnings=warnings,
        )

    def _warc_summary(self, writer: WarcWriter) -> WarcSummary:
        return WarcSummary(
            path=WARC_NAME,
            records=len(writer.records),
            exchanges=self.log.exchanges,
            responses=self.log.responses,
            bytes_recorded=self.budget.used,
            truncated_bodies=self.budget.truncated,
            revisits=writer.revisits,
            bytes_deduplicated=writer.bytes_saved,
        )


def _tls_info(origin: str, pems: list[str], main: Exchange | None) -> TLSInfo:
    info = TLSInfo(origin=origin, certificate_chain_pem=pems)
    if main is None:
        return info
    for hop in main.hops:
        sec = hop.security
        if sec and hop.url.startswith(origin):
            info.protocol = sec.get("protocol")
            info.cipher = sec.get("cipher")
            info.key_exchange = sec.get("keyExchange") or sec.get("keyExchangeGroup")
            info.subject = sec.get("subjectName")
            info.issuer = sec.get("issuer")
            info.san = list(sec.get("sanList", []))
            if sec.get("validFrom"):
                info.valid_from = datetime.fromtimestamp(sec["validFrom"], timezone.utc)
            if sec.get("validTo"):
                info.valid_to = datetime.fromtimestamp(sec["validTo"], timezone.utc)
    return info


NETWORK_ERRORS = {
    "ERR_NAME_NOT_RESOLVED": "the host name does not resolve (check the spelling, or your DNS/connection)",
    "ERR_CONNECTION_REFUSED": "the server refused the connection (is the site up? is the port right?)",
    "ERR_CONNECTION_TIMED_OUT": "the connection timed out (the host is unreachable from here)",
    "ERR_INTERNET_DISCONNECTED": "this machine is offline",
    "ERR_ADDRESS_UNREACHABLE": "the address is unreachable from here",
    "ERR_BLOCKED_BY_CLIENT": "blocked: the address is private (use --allow-private for internal sites)",
    "ERR_CERT_": "TLS certificate error (the site's certificate is not trusted; --ignore-https-errors records it anyway)",
    "ERR_SSL_": "TLS handshake failed",
    "ERR_TOO_MANY_REDIRECTS": "too many redirects",
    "ERR_ABORTED": "the load was aborted (the URL may be a download)",
}


def _describe_navigation_error(message: str, url: str) -> str:
    for code, text in NETWORK_ERRORS.items():
        if code in message:
            net = message[message.find("net::") :].split()[0] if "net::" in message else code
            return f"{text} [{net}]"
    return message


async def _quietly(awaitable: Awaitable[object]) -> None:
    try:
        await awaitable
    except PlaywrightError:
        pass
