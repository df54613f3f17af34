"""Chrome DevTools events -> HTTP exchanges, for every target of one browser context.

The recorder auto-attaches to every target the browser creates (pages, popups, iframes
in their own process, service workers, workers) before it runs, enables the Network
domain there (and the Fetch domain when private addresses are blocked), and rebuilds each
exchange from `requestWillBeSent` (+ `redirectResponse` per hop), `responseReceived`,
the `*ExtraInfo` events (headers as sent and received) and `loadingFinished` /
`loadingFailed`. Bodies come from `Network.getResponseBody` on the target that loaded them.
Finished exchanges go to the context's sink at once, so memory holds open ones only.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .cdp import CDPClosed, CDPConnection, CDPError
from .exchange import BodyState, Exchange, Hop
from .netguard import NetGuard, is_private_address

log = logging.getLogger(__name__)

RECORDED_TARGETS = {"page", "iframe", "service_worker", "shared_worker", "worker"}
RECORDED_SCHEMES = ("http:", "https:")
NO_BODY_STATUSES = {101, 204, 205, 304}
BODY_TIMEOUT = 120.0  # seconds for one Network.getResponseBody (bodies cross as base64 JSON)


@dataclass
class Blocked:
    url: str
    reason: str
    target_type: str


@dataclass
class ContextRecording:
    """Everything recorded for one browser context (one capture)."""

    context_id: str
    sink: Callable[[Exchange], None] | None = None
    open: dict[str, Exchange] = field(default_factory=dict)
    held: list[Exchange] = field(default_factory=list)  # failed with headers: await a download
    blocked: list[Blocked] = field(default_factory=list)
    certificates: dict[str, list[str]] = field(default_factory=dict)  # origin -> PEM chain
    rebinding: list[str] = field(default_factory=list)
    # *ExtraInfo events can arrive before requestWillBeSent: kept here until it does
    early_extra: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = field(
        default_factory=dict
    )
    inflight: set[str] = field(default_factory=set)
    last_activity: float = field(default_factory=time.monotonic)
    pending_tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    body_budget: "BodyBudget | None" = None
    idle_event: asyncio.Event = field(default_factory=asyncio.Event)

    def touch(self) -> None:
        self.last_activity = time.monotonic()
        self.idle_event.set()


@dataclass
class BodyBudget:
    """Size limits on what is kept: per body, and all bodies together."""

    max_response: int
    max_total: int
    used: int = 0
    truncated: int = 0

    def take(self, size: int) -> int:
        """How many of `size` bytes may be kept."""
        allowed = max(0, min(size, self.max_response, self.max_total - self.used))
        self.used += allowed
        if allowed < size:
            self.truncated += 1
        return allowed


@dataclass
class _Target:
    session_id: str
    target_type: str
    context_id: str | None
    url: str


def _pem(der_b64: str) -> str:
    body = "\n".join(der_b64[i : i + 64] for i in range(0, len(der_b64), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


class Recorder:
    """Attached to one browser over its own DevTools websocket."""

    def __init__(self, conn: CDPConnection, guard: NetGuard, max_response_bytes: int):
        self.conn = conn
        self.guard = guard
        self.max_response_bytes = max_response_bytes
        self._buffer_size = max_response_bytes * 4 // 3 + (1 << 20)
        self.targets: dict[str, _Target] = {}
        self.contexts: dict[str, ContextRecording] = {}
        self._wire()

    @classmethod
    async def attach(cls, ws_url: str, guard: NetGuard, max_response_bytes: int) -> "Recorder":
        conn = await CDPConnection.connect(ws_url)
        recorder = cls(conn, guard, max_response_bytes)
        await conn.send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
        )
        return recorder

    async def close(self) -> None:
        await self.conn.close()

    # -- contexts ---------------------------------------------------------------------

    def context(self, context_id: str) -> ContextRecording:
        if context_id not in self.contexts:
            self.contexts[context_id] = ContextRecording(context_id)
        return self.contexts[context_id]

    def release(self, context_id: str) -> None:
        self.contexts.pop(context_id, None)

    async def wait_idle(self, context_id: str, quiet: float, timeout: float) -> bool:
        """True once nothing was in flight for `quiet` seconds; False on timeout."""
        rec = self.context(context_id)
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if not rec.inflight and now - rec.last_activity >= quiet:
                return True
            if now >= deadline:
                return False
            rec.idle_event.clear()
            wait = quiet - (now - rec.last_activity) if not rec.inflight else deadline - now
            wait = max(0.01, min(wait, deadline - now))
            try:
                await asyncio.wait_for(rec.idle_event.wait(), wait)
            except asyncio.TimeoutError:
                pass

    async def drain(self, context_id: str, timeout: float) -> None:
        """Wait for body fetches under way, then hand over every open exchange as cut."""
        rec = self.context(context_id)
        if rec.pending_tasks:
            await asyncio.wait(list(rec.pending_tasks), timeout=timeout)
        for ex in list(rec.open.values()):
            for hop in ex.hops:
                if hop.has_response and hop is ex.last:
                    hop.body_state = BodyState.TRUNCATED_TIME
                    hop.body_note = "response still arriving when the capture ended"
            self._emit(rec, ex)
        rec.open.clear()
        for ex in rec.held:
            self._emit(rec, ex)
        rec.held.clear()
        rec.early_extra.clear()

    def attach_download(self, context_id: str, url: str, data: bytes, complete: bool) -> bool:
        """Give a held (download) exchange the bytes Playwright saved for it."""
        rec = self.context(context_id)
        for ex in rec.held:
            hop = ex.last
            if hop.url == url and hop.has_response and not hop.body:
                hop.body = data
                hop.body_state = BodyState.COMPLETE if complete else BodyState.TRUNCATED_LENGTH
                hop.body_note = "download saved by the browser"
                return True
        return False

    # -- events -----------------------------------------------------------------------

    def _wire(self) -> None:
        on = self.conn.on
        on("Target.attachedToTarget", self._on_attached)
        on("Target.detachedFromTarget", self._on_detached)
        on("Network.requestWillBeSent", self._on_request)
        on("Network.requestWillBeSentExtraInfo", self._on_request_extra)
        on("Network.responseReceived", self._on_response)
        on("Network.responseReceivedExtraInfo", self._on_response_extra)
        on("Network.dataReceived", self._on_data)
        on("Network.loadingFinished", self._on_finished)
        on("Network.loadingFailed", self._on_failed)
        on("Fetch.requestPaused", self._on_paused)

    async def _on_attached(self, _parent: str | None, params: dict[str, Any]) -> None:
        info = params["targetInfo"]
        session = params["sessionId"]
        target = _Target(session, info["type"], info.get("browserContextId"), info.get("url", ""))
        self.targets[session] = target
        send = self.conn.send
        steps: list[tuple[str, dict[str, Any]]] = []
        if target.target_type in RECORDED_TARGETS:
            steps.append(
                (
                    "Network.enable",
                    {
                        # Chromium counts a buffered body in base64 (4/3 of its bytes)
                        "maxTotalBufferSize": max(self._buffer_size * 2, 64 << 20),
                        "maxResourceBufferSize": self._buffer_size,
                    },
                )
            )
            steps.append(("Network.setCacheDisabled", {"cacheDisabled": True}))
            if not self.guard.allow_private:
                steps.append(("Fetch.enable", {"patterns": [{"urlPattern": "*"}]}))
        if target.target_type in ("page", "iframe"):
            steps.append(
                (
                    "Target.setAutoAttach",
                    {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True},
                )
            )
        if params.get("waitingForDebugger"):
            steps.append(("Runtime.runIfWaitingForDebugger", {}))
        # Sent together, in order, without awaiting each answer: a paused service worker
        # answers Network.enable only after runIfWaitingForDebugger released it.
        results = await asyncio.gather(
            *(send(method, args, session) for method, args in steps), return_exceptions=True
        )
        for (method, _), result in zip(steps, results):
            if isinstance(result, (CDPError, CDPClosed)):
                log.debug("%s on %s target failed: %s", method, target.target_type, result)
            elif isinstance(result, BaseException):
                raise result

    def _on_detached(self, _parent: str | None, params: dict[str, Any]) -> None:
        self.targets.pop(params.get("sessionId", ""), None)

    def _rec(self, session: str | None) -> tuple[ContextRecording, _Target] | None:
        target = self.targets.get(session or "")
        if target is None or target.context_id is None:
            return None
        return self.context(target.context_id), target

    def _on_request(self, session: str | None, p: dict[str, Any]) -> None:
        found = self._rec(session)
        if found is None:
            return
        rec, target = found
        req = p["request"]
        url = req["url"] + req.get("urlFragment", "")
        rid = p["requestId"]
        ex = rec.open.get(rid)
        if "redirectResponse" in p and ex is not None:
            self._fill_response(ex.last, p["redirectResponse"])
        if not url.startswith(RECORDED_SCHEMES):
            return
        if ex is None:
            ex = Exchange(request_id=rid, target_type=target.target_type)
            early = rec.early_extra.pop(rid, None)
            if early:
                ex.extra_requests.extend(early[0])
                ex.extra_responses.extend(early[1])
            rec.open[rid] = ex
        post = None
        if req.get("postDataEntries"):
            post = b"".join(base64.b64decode(e.get("bytes", "")) for e in req["postDataEntries"])
        elif req.get("postData") is not None:
            post = req["postData"].encode()
        ex.hops.append(
            Hop(
                url=req["url"],
                method=req["method"],
                request_headers=req.get("headers", {}),
                post_data=post,
                wall_time=p.get("wallTime"),
                resource_type=p.get("type"),
            )
        )
        rec.inflight.add(rid)
        rec.touch()

    def _on_request_extra(self, session: str | None, p: dict[str, Any]) -> None:
        self._keep_extra(session, p, responses=False)

    def _on_response(self, session: str | None, p: dict[str, Any]) -> None:
        found = self._rec(session)
        if found is None:
            return
        rec, target = found
        ex = rec.open.get(p["requestId"])
        if ex is None or not ex.hops:
            return
        response = p["response"]
        self._fill_response(ex.last, response)
        ex.session_id = session
        rec.touch()
        remote = response.get("remoteIPAddress")
        if remote and not self.guard.allow_private and is_private_address(remote):
            rec.rebinding.append(f"{response.get('url')} answered from private address {remote}")
        if p.get("type") == "Document" and response.get("url", "").startswith("https:"):
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(response["url"]))
            if origin not in rec.certificates:
                rec.certificates[origin] = []
                self._spawn(rec, self._fetch_certificate(rec, session, origin))

    @staticmethod
    def _fill_response(hop: Hop, response: dict[str, Any]) -> None:
        hop.status = response.get("status")
        hop.status_text = response.get("statusText", "")
        hop.response_headers = response.get("headers", {})
        hop.protocol = response.get("protocol")
        hop.remote_ip = response.get("remoteIPAddress")
        hop.remote_port = response.get("remotePort")
        hop.mime_type = response.get("mimeType")
        hop.security = response.get("securityDetails")
        hop.from_service_worker = bool(response.get("fromServiceWorker"))
        if hop.raw_request_headers is None and response.get("requestHeaders"):
            hop.raw_request_headers = response["requestHeaders"]

    def _on_response_extra(self, session: str | None, p: dict[str, Any]) -> None:
        self._keep_extra(session, p, responses=True)

    def _keep_extra(self, session: str | None, p: dict[str, Any], responses: bool) -> None:
        """*ExtraInfo (headers as on the wire) go to their exchange; one that arrives before
        its requestWillBeSent waits in early_extra."""
        found = self._rec(session)
        if found is None:
            return
        rec, _ = found
        ex = rec.open.get(p["requestId"])
        if ex is not None:
            (ex.extra_responses if responses else ex.extra_requests).append(p)
        else:
            rec.early_extra.setdefault(p["requestId"], ([], []))[1 if responses else 0].append(p)

    def _on_data(self, session: str | None, p: dict[str, Any]) -> None:
        found = self._rec(session)
        if found is not None:
            rec = found[0]
            rec.touch()
            ex = rec.open.get(p["requestId"])
            if ex is not None:
                ex.decoded_length += p.get("dataLength", 0)

    def _on_finished(self, session: str | None, p: dict[str, Any]) -> None:
        found = self._rec(session)
        if found is None:
            return
        rec, _ = found
        rid = p["requestId"]
        ex = rec.open.get(rid)
        rec.inflight.discard(rid)
        rec.touch()
        if ex is None:
            return
        ex.finished = True
        ex.encoded_length = p.get("encodedDataLength")
        ex.session_id = session or ex.session_id
        self._spawn(rec, self._complete(rec, ex))

    def _on_failed(self, session: str | None, p: dict[str, Any]) -> None:
        found = self._rec(session)
        if found is None:
            return
        rec, _ = found
        rid = p["requestId"]
        rec.inflight.discard(rid)
        rec.touch()
        ex = rec.open.pop(rid, None)
        if ex is None:
            return
        ex.error = p.get("errorText")
        ex.canceled = bool(p.get("canceled"))
        ex.blocked_reason = p.get("blockedReason")
        if ex.last.has_response:
            ex.last.body_state = BodyState.UNAVAILABLE
            ex.last.body_note = f"loading failed: {ex.error}"
            rec.held.append(ex)  # may be a download whose bytes arrive through Playwright
        else:
            self._emit(rec, ex)

    async def _on_paused(self, session: str | None, p: dict[str, Any]) -> None:
        target = self.targets.get(session or "")
        url = p["request"]["url"]
        reason = await self.guard.check(url)
        try:
            if reason is None:
                await self.conn.send("Fetch.continueRequest", {"requestId": p["requestId"]}, session)
                return
            await self.conn.send(
                "Fetch.failRequest",
                {"requestId": p["requestId"], "errorReason": "BlockedByClient"},
                session,
            )
        except (CDPError, CDPClosed) as exc:
            log.debug("paused request %s vanished: %s", url, exc)
            return
        if target is not None and target.context_id is not None:
            rec = self.context(target.context_id)
            rec.blocked.append(Blocked(url, reason, target.target_type))

    # -- bodies -----------------------------------------------------------------------

    def _spawn(self, rec: ContextRecording, coro: Any) -> None:
        task = asyncio.create_task(coro)
        rec.pending_tasks.add(task)
        task.add_done_callback(rec.pending_tasks.discard)

    async def _complete(self, rec: ContextRecording, ex: Exchange) -> None:
        hop = ex.last
        if hop.has_response and hop.status not in NO_BODY_STATUSES and hop.method != "HEAD":
            await self._read_body(rec, ex, hop)
        if rec.open.get(ex.request_id) is ex:
            del rec.open[ex.request_id]
            self._emit(rec, ex)

    async def _read_body(self, rec: ContextRecording, ex: Exchange, hop: Hop) -> None:
        try:
            result = await self.conn.send(
                "Network.getResponseBody",
                {"requestId": ex.request_id},
                ex.session_id,
                timeout=BODY_TIMEOUT,
            )
        except asyncio.TimeoutError:
            hop.body_state = BodyState.UNAVAILABLE
            hop.body_note = f"the browser did not hand the body over within {BODY_TIMEOUT:.0f}s"
            return
        except CDPError as exc:
            size = max(ex.decoded_length, ex.encoded_length or 0)
            big = size > self.max_response_bytes
            hop.body_state = BodyState.TRUNCATED_LENGTH if big else BodyState.UNAVAILABLE
            hop.body_note = (
                f"body over the per-response limit ({self.max_response_bytes} bytes)"
                if big
                else f"browser kept no body: {exc.message}"
            )
            if big and rec.body_budget is not None:
                rec.body_budget.truncated += 1
            return
        except CDPClosed:
            hop.body_state = BodyState.UNAVAILABLE
            hop.body_note = "browser closed before the body was read"
            return
        raw = result.get("body", "")
        data = base64.b64decode(raw) if result.get("base64Encoded") else raw.encode("utf-8")
        keep = rec.body_budget.take(len(data)) if rec.body_budget else len(data)
        hop.body = data[:keep]
        if keep < len(data):
            hop.body_state = BodyState.TRUNCATED_LENGTH
            hop.body_note = f"kept {keep} of {len(data)} bytes (size limit)"
        else:
            hop.body_state = BodyState.COMPLETE

    async def _fetch_certificate(self, rec: ContextRecording, session: str | None, origin: str):
        try:
            result = await self.conn.send("Network.getCertificate", {"origin": origin}, session)
        except (CDPError, CDPClosed) as exc:
            log.debug("no certificate for %s: %s", origin, exc)
            return
        rec.certificates[origin] = [_pem(der) for der in result.get("tableNames", [])]

    def _emit(self, rec: ContextRecording, ex: Exchange) -> None:
        ex.apply_extra_info()
        if rec.sink is not None:
            rec.sink(ex)
