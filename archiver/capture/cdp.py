"""A small Chrome DevTools Protocol client over one websocket, with flat sessions.

Playwright drives the page; this client *records* it. It needs what Playwright's own
CDPSession does not give: auto-attaching to every target of the browser (pages,
out-of-process iframes, service workers, workers) as flat sessions, so that every network
exchange is seen from the target that made it, from its first request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import websockets

log = logging.getLogger(__name__)

EventHandler = Callable[[str | None, dict[str, Any]], Awaitable[None] | None]


class CDPError(Exception):
    """The browser answered a command with an error."""

    def __init__(self, method: str, error: dict[str, Any]):
        self.method = method
        self.code = error.get("code")
        self.message = error.get("message", "")
        super().__init__(f"{method}: {self.message} ({self.code})")


class CDPClosed(Exception):
    """The connection to the browser is gone."""


class CDPConnection:
    """One websocket to the browser endpoint; commands to any flat session by id."""

    def __init__(self, ws: websockets.ClientConnection):
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._handlers: dict[str, list[EventHandler]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @classmethod
    async def connect(cls, ws_url: str) -> "CDPConnection":
        ws = await websockets.connect(ws_url, max_size=None, ping_interval=None)
        conn = cls(ws)
        conn._reader = asyncio.create_task(conn._read_loop(), name="cdp-reader")
        return conn

    def on(self, method: str, handler: EventHandler) -> None:
        """Call handler(session_id, params) for every event `method` from any session."""
        self._handlers.setdefault(method, []).append(handler)

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        timeout: float | None = 30.0,
    ) -> dict[str, Any]:
        if self._closed:
            raise CDPClosed(method)
        msg_id = next(self._ids)
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = (method, future)
        try:
            await self._ws.send(json.dumps(message))
        except websockets.ConnectionClosed as exc:
            self._pending.pop(msg_id, None)
            raise CDPClosed(method) from exc
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(msg_id, None)

    async def _read_loop(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                if "id" in message:
                    entry = self._pending.get(message["id"])
                    if entry is None:
                        continue
                    method, future = entry
                    if future.done():
                        continue
                    if "error" in message:
                        future.set_exception(CDPError(method, message["error"]))
                    else:
                        future.set_result(message.get("result", {}))
                    continue
                method = message.get("method", "")
                for handler in self._handlers.get(method, ()):
                    result = handler(message.get("sessionId"), message.get("params", {}))
                    if asyncio.iscoroutine(result):
                        task = asyncio.create_task(result)
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
        except websockets.ConnectionClosed:
            pass
        finally:
            self._closed = True
            for method, future in self._pending.values():
                if not future.done():
                    future.set_exception(CDPClosed(method))

    async def close(self) -> None:
        self._closed = True
        await self._ws.close()
        if self._reader is not None:
            await self._reader
