"""One URL, one page load, one capture folder. The load is a list of steps, run as data:

    navigate -> network idle -> behaviours (consent, platform, play videos) -> network idle
    -> scroll through -> network idle -> back to top
    -> attachments (always, unless the load failed; + the post element's screenshot)
    -> read the post -> fetch its missing media -> drain the recorder
    -> post.json + media/ -> provenance

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

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from ..config import Settings
from ..errors import UserError
from ..models import (
    Attachment,
    BehaviourRecord,
    CaptureState,
    FailedRequest,
    LimitHit,
    ProfileUse,
    Provenance,
    StepRecord,
    WarcSummary,
)
from ..platforms.models import PostOutcome
from ..profiles import update_profile
from ..storage.atomic import atomic_write_bytes, atomic_write_model, fsync_dir
from ..warc.dedup import Original
from ..warc.writer import Lookup, WarcWriter
from .attachments import take_attachments
from .behaviours.media import PartialMedia, fetch_whole
from .behaviours.runner import Behaviour, BehaviourArgs, run_behaviour
from .behaviours.scroll import scroll_through, scroll_to_top
from .exchange import BodyState, Exchange
from .isolated import IsolatedWorld, WorldError
from .netguard import validate_url
from .page_events import PageEvents, PageGuard
from .post import POST_PNG, PostStage
from .provenance import describe_navigation_error, document_facts, merge_blocked, tls_info
from .recorder import BodyBudget, ContextRecording
from .redact import ProfileRedactor

if TYPE_CHECKING:
    from .engine import CaptureEngine

log = logging.getLogger(__name__)

WARC_NAME = "archive.warc.gz"
PROVENANCE_NAME = "provenance.json"
INCOMPLETE_PREFIX = ".incomplete-"
# which setting bounds a step: a step that times out is a limit hit, so the state is partial
STEP_LIMITS = {
    "navigate": "load_timeout",
    "network-idle": "network_idle_timeout",
    "scroll": "scroll_timeout",
    "media-whole": "network_idle_timeout",
    "behaviours": "behaviour_timeout",
    "read-post": "attachments_timeout",
    "post-media": "media_timeout",
    "post-video": "video_timeout",
    "attachments": "attachments_timeout",
    "drain": "capture_timeout",
}
INCOMPLETE_BODIES = (BodyState.TRUNCATED_LENGTH, BodyState.TRUNCATED_TIME, BodyState.UNAVAILABLE)
MAX_BODY_WARNINGS = 50


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
    failed: list[FailedRequest] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    behaviours: list[BehaviourRecord] = field(default_factory=list)
    exchanges: int = 0
    responses: int = 0
    cut_bodies: int = 0  # responses whose body is not in the WARC whole
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
        name: str | None = None,
        storage_state: dict[str, object] | None = None,
        profile: ProfileUse | None = None,
    ):
        self.engine = engine
        self.storage_state = storage_state
        self.profile = profile
        self.redactor = ProfileRedactor(storage_state)
        self.profile_updated = False
        self.dedup = dedup
        self.settings = settings
        self.limits = settings.limits
        self.url = validate_url(url)
        self.case = case
        self.started = datetime.now(timezone.utc)
        self.name = name or capture_name(self.url, self.started)
        self.case_dir = Path(out_dir) / case
        self.final_dir = self.case_dir / self.name
        self.work_dir = self.case_dir / f"{INCOMPLETE_PREFIX}{self.name}"
        self.log = _Log()
        self.deadline = time.monotonic() + self.limits.capture_timeout
        self.failure: str | None = None
        self.title: str | None = None
        self.budget = BodyBudget(self.limits.max_response_bytes, self.limits.max_total_bytes)
        self.partial_media = PartialMedia()
        self.write_error: OSError | None = None
        self.post = PostStage(settings, self.url, self.work_dir, guard=engine.guard, storage_state=storage_state)
        self.post_outcome: PostOutcome | None = None
        self.final_url = self.url
        self.dom_html: str | None = None  # the DOM snapshot, kept for reading the post

    # -- the run ----------------------------------------------------------------------

    async def run(self) -> CaptureResult:
        self.work_dir.mkdir(parents=True, exist_ok=False)
        writer = WarcWriter(self.work_dir / WARC_NAME, self.dedup, self.settings.dedup.min_size)
        try:
            return await self._run(writer)
        except BaseException:
            writer.abort()  # no half-written WARC keeps the disk full; the folder stays .incomplete-
            raise

    async def _run(self, writer: WarcWriter) -> CaptureResult:
        engine = self.engine
        assert engine.browser and engine.recorder and engine.software
        writer.write_warcinfo(self._warcinfo())
        context = await engine.browser.new_context(**self._context_options())
        page = await context.new_page()
        context_id = await self._context_id(context, page)
        recording = engine.recorder.context(context_id)
        recording.body_budget = self.budget
        recording.sink = lambda ex: self._on_exchange(writer, ex)
        guard = PageGuard(engine.recorder, context_id, self.budget)
        guard.watch(context, page)
        world = IsolatedWorld(page)  # where our scripts (behaviours, scrolling) run
        attachments: list[Attachment] = []
        try:
            await self._load(page, world, context_id)
            if self.failure is None and self.write_error is None:
                attachments = await self._attachments(page, world, writer)
                await self._post(page, context_id)
            await self._save_refreshed_session(context)
        finally:
            await self._step(
                "drain", 6.0, lambda: engine.recorder.drain(context_id, 5.0), own_budget=True
            )
            await guard.settle()
            recording.sink = None
            engine.recorder.release(context_id)
            await world.close()
            await self._close_context(context)
        if self.write_error is not None:  # the disk failed under the recorder: not a capture
            raise self.write_error
        self.post_outcome = self.post.finish(writer, self.final_url)
        provenance = self._provenance(recording, attachments, writer, guard.events)
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

    async def _load(self, page: Page, world: IsolatedWorld, context_id: str) -> None:
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
        behaviours = self.post.behaviours()
        if behaviours:
            budget = self.settings.platforms.behaviour_timeout
            await self._step("behaviours", budget, lambda: self._behaviours(world, behaviours, budget))
            if any(r.actions for r in self.log.behaviours):  # what they clicked may load more
                await self._step("network-idle-after-behaviours", idle, wait_idle)

        async def scroll() -> str:
            rec = recorder.context(context_id)
            result = await scroll_through(
                world,
                self._remaining(self.limits.scroll_timeout),
                self.limits.max_scroll_height,
                busy=lambda: bool(rec.inflight),
            )
            if result.stopped != "bottom":
                self._hit(result.stopped, f"stopped scrolling at {result.reached}px of {result.height}px")
            return f"{result.steps} steps, {result.reached}px of {result.height}px, {result.stopped}"

        await self._step("scroll", self.limits.scroll_timeout, scroll)
        await self._step("network-idle-after-scroll", idle, wait_idle)
        wanted = self.partial_media.wanted(self.limits.max_response_bytes)
        if wanted:
            budget = self.limits.network_idle_timeout
            await self._step("media-whole", budget, lambda: fetch_whole(page, wanted, budget))
            await self._step("network-idle-after-media", idle, wait_idle)
        await self._step("scroll-to-top", 5.0, lambda: scroll_to_top(world, 5.0))
        try:
            self.title = await asyncio.wait_for(page.title(), 5.0)
        except (asyncio.TimeoutError, PlaywrightError):
            self.title = None

    async def _behaviours(self, world: IsolatedWorld, behaviours: list[Behaviour], budget: float) -> str:
        """Consent, the platform's own behaviours, starting videos: each recorded with what
        it did; together within `behaviour_timeout`."""
        p = self.settings.platforms
        args = BehaviourArgs(thread_depth=p.thread_depth, comments=p.comments)
        deadline = time.monotonic() + self._remaining(budget)
        for behaviour in behaviours:
            left = deadline - time.monotonic()
            if left <= 0.2:
                self.log.behaviours.append(
                    BehaviourRecord(name=behaviour.name, rounds=0, outcome="skipped", detail="behaviour_timeout used up")
                )
                continue
            record = await run_behaviour(world, behaviour, args, left)
            self.log.behaviours.append(record)
        did = [f"{r.name}: {len(r.actions)}" for r in self.log.behaviours if r.actions]
        return ", ".join(did) or "nothing to do"

    async def _post(self, page: Page, context_id: str) -> None:
        """Read the post from the evidence just taken; fetch its media the page did not load."""
        recorder = self.engine.recorder
        assert recorder is not None
        p = self.settings.platforms
        if not p.extract:
            return
        dom = self.dom_html
        if dom is None:
            self.log.warnings.append("no DOM snapshot: the post was not read")
            return
        self.final_url = page.url or self.url

        async def read() -> str:
            found = await self.post.read(self.final_url, dom)
            if found is None or found.post is None:
                return f"{found.platform if found else '?'}: no post" + (
                    f" (login required: {found.login_required})" if found and found.login_required else ""
                )
            return f"{found.platform}: {found.post.extraction.extractor}, {len(found.post.media)} media"

        await self._step("read-post", self.limits.attachments_timeout, read)
        if not p.media:
            return
        if self.post.missing():  # media the page did not load: fetched whole inside it
            budget = p.media_timeout
            await self._step("post-media", budget, lambda: self.post.fetch_missing(page, budget))

            async def wait_idle() -> None:
                # the page already holds every fetched body (arrayBuffer() resolved): only the
                # recorder's last events and body reads are awaited, not a quiet page
                quiet = min(0.1, self.limits.network_idle_quiet)
                if not await recorder.wait_idle(context_id, quiet, self._remaining(budget)):
                    raise StepTimeout(f"media requests still open after {budget:.0f}s")

            await self._step("network-idle-after-post-media", budget, wait_idle)
        if self.post.videos_missing():
            await self._step(
                "post-video", p.video_timeout + 5, lambda: self.post.download_videos(p.video_timeout), own_budget=True
            )

    async def _navigate(self, page: Page) -> str:
        timeout_ms = self._remaining(self.limits.load_timeout) * 1000
        try:
            response = await page.goto(self.url, wait_until="load", timeout=timeout_ms)
        except PlaywrightError as exc:
            message = exc.message.splitlines()[0] if exc.message else str(exc)
            if "Timeout" in type(exc).__name__ or "Timeout" in message:
                raise StepTimeout(message) from None
            self.failure = describe_navigation_error(message)
            return self.failure
        return f"HTTP {response.status}" if response else "no response"

    async def _attachments(self, page: Page, world: IsolatedWorld, writer: WarcWriter) -> list[Attachment]:
        result: list[Attachment] = []

        async def take() -> str:
            taken, hits = await take_attachments(page, world, self.limits)
            for text in hits:
                limit, _, detail = text.partition(": ")
                self._hit(limit, detail)
            for item in taken:
                if item.data is None:
                    self.log.warnings.append(f"{item.kind} not taken: {item.note}")
                    if item.note and not item.note.startswith("skipped"):
                        self._hit("attachments_timeout", f"{item.kind} {item.note}")
                    continue
                path = self.work_dir / item.filename
                atomic_write_bytes(path, item.data)
                if item.kind == "dom":
                    self.dom_html = item.data.decode("utf-8", "replace")
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
        if result and self.settings.platforms.extract:
            await self._step("post-screenshot", 10.0, lambda: self._post_screenshot(page, writer, result), own_budget=True)
        return result

    async def _post_screenshot(self, page: Page, writer: WarcWriter, result: list[Attachment]) -> str:
        data = await self.post.screenshot(page, 8.0)
        if data is None:
            return "no post element"
        atomic_write_bytes(self.work_dir / POST_PNG, data)
        info = writer.write_resource_bytes("urn:element:" + self.url, data, "image/png")
        result.append(
            Attachment(
                kind="screenshot-post",
                path=POST_PNG,
                media_type="image/png",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                warc_uri=info.target_uri,
                note=f"element {self.post.element_shot}",
            )
        )
        return f"{self.post.element_shot}"

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
            except WorldError as exc:  # a script of ours: the page navigated under it, or it threw
                outcome, detail = "error", str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.log.warnings.append(f"step {name} failed: {detail}")
        if outcome == "timeout":
            self._hit(STEP_LIMITS.get(name.split("-after")[0], "capture_timeout"), f"{name}: {detail}")
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

    async def _save_refreshed_session(self, context: BrowserContext) -> None:
        """A site that rotated its tokens during the capture (Bluesky refreshes an expired
        session, and the saved refresh token then stops working) gets the new session saved
        back to the profile, as a browser would keep it; see profiles.refreshed."""
        if self.profile is None or self.storage_state is None or not self.settings.platforms.update_profile:
            return
        try:
            after = await asyncio.wait_for(context.storage_state(), 5.0)
            self.profile_updated = update_profile(self.settings, self.profile.name, self.storage_state, after)
        except (asyncio.TimeoutError, PlaywrightError, OSError, UserError) as exc:
            self.log.warnings.append(f"login profile {self.profile.name!r} not updated: {str(exc) or type(exc).__name__}")

    async def _close_context(self, context: BrowserContext) -> None:
        try:
            await asyncio.wait_for(context.close(), 10)
        except (asyncio.TimeoutError, PlaywrightError) as exc:
            self.log.warnings.append(f"browser context did not close cleanly: {exc}")

    # -- recording sink ---------------------------------------------------------------

    def _on_exchange(self, writer: WarcWriter, ex: Exchange) -> None:
        if not ex.hops or self.write_error is not None:
            return
        self.redactor.apply(ex)  # a login profile's secrets never reach the evidence
        try:
            written = writer.write_exchange(ex)
            self.post.see(ex, written)  # may keep a media body aside (a revisit's): disk too
        except OSError as exc:  # runs in the recorder's task: keep it for run() to raise
            self.write_error = exc
            return
        self.log.exchanges += len(ex.hops)
        self.partial_media.see(ex)
        self.log.responses += len(written)
        first = ex.hops[0]
        if (
            self.log.main_document is None
            and ex.target_type == "page"
            and first.resource_type == "Document"
        ):
            self.log.main_document = ex
        last = ex.last
        if last.has_response and last.body_state in INCOMPLETE_BODIES and last.body_note:
            self.log.cut_bodies += 1
            if self.log.cut_bodies <= MAX_BODY_WARNINGS:
                self.log.warnings.append(f"body of {last.url} not recorded whole: {last.body_note}")
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
        if self.storage_state is not None:
            options["storage_state"] = self.storage_state
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

    def _provenance(
        self,
        recording: ContextRecording,
        attachments: list[Attachment],
        writer: WarcWriter,
        events: PageEvents,
    ) -> Provenance:
        doc = document_facts(self.log.main_document)
        warnings = list(self.log.warnings) + list(recording.rebinding)
        warnings += [f"{n} more {kind} events not logged" for kind, n in events.not_logged.items()]
        if self.log.cut_bodies > MAX_BODY_WARNINGS:
            warnings.append(f"{self.log.cut_bodies - MAX_BODY_WARNINGS} more bodies not recorded whole")
        if self.budget.truncated:
            self._hit("max_response_bytes/max_total_bytes", f"{self.budget.truncated} bodies truncated")
        if doc.status is not None and doc.status >= 400:
            warnings.append(f"the page answered HTTP {doc.status}")
        outcome = self.post_outcome
        login = outcome.login_required if outcome else None
        state = CaptureState.COMPLETE
        if self.failure:
            state = CaptureState.FAILED
        elif login:
            state = CaptureState.LOGIN_REQUIRED
            warnings.append(
                f"login required: {login}"
                + ("" if self.profile else "; capture with a login profile (archiver login NAME URL, then --profile NAME)")
            )
        elif self.log.limits:
            state = CaptureState.PARTIAL
        b = self.settings.browser
        return Provenance(
            capture_id=self.name,
            case=self.case,
            requested_url=self.url,
            final_url=doc.final_url,
            page_url=self.final_url if self.post.read_at else None,
            redirect_chain=doc.chain,
            http_status=doc.status,
            title=self.title,
            state=state,
            failure=self.failure,
            limits_hit=self.log.limits,
            started=self.started,
            ended=datetime.now(timezone.utc),
            server_ip=doc.server_ip,
            server_port=doc.server_port,
            protocol=doc.protocol,
            tls=[tls_info(o, pems, self.log.main_document) for o, pems in recording.certificates.items()],
            software=self.engine.software,
            viewport={"width": b.viewport_width, "height": b.viewport_height},
            options=self.settings.model_dump(mode="json", exclude={"output_dir"}),
            steps=self.log.steps,
            attachments=attachments,
            warc=self._warc_summary(writer),
            failed_requests=merge_blocked(self.log.failed, recording.blocked),
            dialogs=events.dialogs,
            popups=events.popups,
            downloads=events.downloads,
            warnings=warnings,
            behaviours=self.log.behaviours,
            profile=self.profile.model_copy(
                update={
                    "redacted": self.redactor.redacted,
                    "redacted_bodies": self.redactor.bodies,
                    "updated": self.profile_updated,
                }
            ) if self.profile else None,
            login_required=login,
            post=outcome,
        )

    def _warc_summary(self, writer: WarcWriter) -> WarcSummary:
        return WarcSummary(
            path=WARC_NAME,
            records=len(writer.records),
            exchanges=self.log.exchanges,
            responses=self.log.responses,
            bytes_recorded=self.budget.used,
            truncated_bodies=self.budget.truncated,
            incomplete_bodies=self.log.cut_bodies,
            revisits=writer.revisits,
            bytes_deduplicated=writer.bytes_saved,
        )
