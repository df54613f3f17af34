"""Run a case's job queue: N captures in parallel in one browser (a fresh context each),
polite per host, retrying what may succeed later, restarting the browser when it crashes or
has served many captures, stopping cleanly on Ctrl-C, and resumable after any kill."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from playwright.async_api import Error as PlaywrightError

from ..capture.cdp import CDPClosed, CDPError
from ..capture.session import capture_name
from ..config import Settings
from ..pipeline import CaptureCase, Captured
from ..seal.pending import seal_folder, sealed_paths
from .queue import Job, JobQueue

RETRYABLE_NET = ("ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET", "ERR_CONNECTION_TIMED_OUT",
                 "ERR_TIMED_OUT", "ERR_NETWORK_CHANGED", "ERR_EMPTY_RESPONSE", "ERR_CONNECTION_CLOSED",
                 "ERR_NAME_RESOLUTION_FAILED", "ERR_INTERNET_DISCONNECTED", "ERR_ADDRESS_UNREACHABLE")


CAPTURE_CRASHES = (PlaywrightError, CDPClosed, CDPError, asyncio.TimeoutError)


@dataclass
class Outcome:
    job: Job
    state: str  # done, partial, failed, retry
    detail: str | None
    capture: str | None
    seconds: float
    captured: Captured | None = None  # the capture and its seal, when one was made


@dataclass
class RunSummary:
    outcomes: list[Outcome] = field(default_factory=list)
    interrupted: bool = False
    disk_full: bool = False
    browser_restarts: int = 0


def concurrency_of(settings: Settings) -> int:
    return settings.jobs.concurrency or max(1, os.cpu_count() or 1)


def reconcile(run: CaptureCase, queue: JobQueue) -> list[str]:
    """Jobs left `running` by a killed run: sealed -> finished; finished but unsealed ->
    sealed now; interrupted mid-capture -> queued again (its `.incomplete-` folder is
    reported by verify, never sealed). Returns what was done, for the log."""
    assert run.case is not None
    notes = []
    sealed = sealed_paths(run.case)
    for job in queue.running():
        folder = run.case.folder / job.capture if job.capture else None
        if job.capture and job.capture in sealed:
            state, error = _state_of(run, job.capture)
            queue.finish(job.id, state, error)
            notes.append(f"job {job.id}: was sealed before the stop")
        elif folder is not None and (folder / "provenance.json").is_file():
            seal_folder(run.case, folder, run.settings.timestamp, extra={"job": job.id})
            state, error = _state_of(run, job.capture)
            queue.finish(job.id, state, error)
            notes.append(f"job {job.id}: finished before the stop, sealed now")
        else:
            queue.requeue(job.id, "interrupted: the run stopped during this capture", 0)
            notes.append(f"job {job.id}: interrupted, queued again")
    return notes


def _state_of(run: CaptureCase, capture: str) -> tuple[str, str | None]:
    from ..models import Provenance

    assert run.case is not None
    prov = Provenance.model_validate_json((run.case.folder / capture / "provenance.json").read_bytes())
    return _job_state(prov.state.value, prov.failure or prov.login_required, prov.http_status)


def _job_state(state: str, failure: str | None, status: int | None) -> tuple[str, str | None]:
    if state == "failed":
        return "failed", failure
    if state == "login-required":  # not retried: only a login profile changes the answer
        return "partial", f"login required: {failure}"
    if status is not None and (status >= 500 or status == 429):
        return "failed", f"HTTP {status}"
    return ("done" if state == "complete" else "partial"), None


def _retryable(state: str, error: str | None) -> bool:
    if state != "failed" or not error:
        return False
    return error.startswith("HTTP 5") or error == "HTTP 429" or any(code in error for code in RETRYABLE_NET)


class Runner:
    def __init__(
        self,
        run: CaptureCase,
        queue: JobQueue,
        on_event: Callable[[Outcome], None] = lambda o: None,
    ):
        self.run = run
        self.queue = queue
        self.settings = run.settings
        self.on_event = on_event
        self.concurrency = concurrency_of(self.settings)
        self.stopping = asyncio.Event()
        self.summary = RunSummary()
        self._running: dict[int, str] = {}  # job id -> host
        self._last_start: dict[str, float] = {}
        self._since_restart = 0
        self._restart_lock = asyncio.Lock()
        self._workers: list[asyncio.Task[None]] = []

    def stop(self) -> None:
        """First Ctrl-C: claim nothing new, let running captures finish. Second: stop now
        (running captures stay `.incomplete-`, their jobs are queued again on resume)."""
        if self.stopping.is_set() and self.summary.interrupted:
            for task in self._workers:
                task.cancel()
            return
        self.summary.interrupted = True
        self.stopping.set()

    async def run_all(self) -> RunSummary:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stop)
            except (NotImplementedError, RuntimeError):  # not the main thread (tests)
                pass
        self._workers = [asyncio.create_task(self._worker(i)) for i in range(self.concurrency)]
        try:
            await asyncio.gather(*self._workers)
        except asyncio.CancelledError:
            if not self.summary.interrupted:
                raise  # cancelled from outside, not by a second Ctrl-C
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.remove_signal_handler(sig)
                except (NotImplementedError, RuntimeError):
                    pass
        return self.summary

    def _next_job(self) -> Job | None | bool:
        """A job to start now; None if none is ready yet; False if nothing is left."""
        queued = self.queue.queued()
        if not queued:
            return False if not self._running else None
        now = time.time()
        hosts = list(self._running.values())
        for job in queued:
            if job.not_before > now or job.id in self._running:
                continue
            if hosts.count(job.host) >= self.settings.jobs.per_host:
                continue
            if now - self._last_start.get(job.host, 0) < self.settings.jobs.host_delay:
                continue
            return job
        return None

    async def _worker(self, number: int) -> None:
        while not self.stopping.is_set():
            await self._maybe_restart()
            job = self._next_job()
            if job is False:
                return
            if job is None:
                await asyncio.sleep(0.1)
                continue
            self._running[job.id] = job.host
            self._last_start[job.host] = time.time()
            try:
                await self._one(job)
            finally:
                self._running.pop(job.id, None)

    async def _maybe_restart(self) -> None:
        due = self._since_restart >= self.settings.jobs.restart_every or not self.run.engine.alive
        if not due or not self.queue.queued():  # no fresh browser just to close it again
            return
        async with self._restart_lock:
            if not (self._since_restart >= self.settings.jobs.restart_every or not self.run.engine.alive):
                return
            while self._running:  # let the others finish first
                await asyncio.sleep(0.1)
            await self.run.restart_browser()
            self._since_restart = 0
            self.summary.browser_restarts += 1

    async def _one(self, job: Job) -> None:
        name = capture_name(job.url, _utc_now())
        self.queue.claim(job.id, name)
        started = time.monotonic()
        try:
            done: Captured = await self.run.capture(job.url, name=name, job=job.id)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):  # every next capture would fail too
                self.stop()
                self.summary.disk_full = True
            where = f" ({exc.filename})" if exc.filename else ""
            self._finish(job, "failed", f"cannot write the capture: {exc.strerror}{where}", None, started)
            return
        except CAPTURE_CRASHES as exc:  # the browser died under it: this job fails, not the batch
            self._since_restart = self.settings.jobs.restart_every  # fresh browser next
            self._finish(job, "failed", f"{type(exc).__name__}: {exc}", None, started)
            return
        self._since_restart += 1
        prov = done.provenance
        state, error = _job_state(prov.state.value, prov.failure or prov.login_required, prov.http_status)
        if _retryable(state, error) and job.attempts + 1 <= self.settings.jobs.retries:
            delay = self.settings.jobs.retry_backoff * (2 ** job.attempts)
            self.queue.requeue(job.id, error or "", delay)
            self._emit(job, "retry", f"{error}; retry in {delay:.0f}s", done.seal.path, started, done)
            return
        self._finish(job, state, error, done.seal.path, started, done)

    def _finish(
        self, job: Job, state: str, error: str | None, capture: str | None, started: float,
        done: Captured | None = None,
    ) -> None:
        try:
            self.queue.finish(job.id, state, error, capture)
        except sqlite3.OperationalError as exc:  # "database or disk is full": stop, resume later
            self.stop()
            self.summary.disk_full = True
            error = f"{error}; the job queue could not be updated ({exc})" if error else str(exc)
        self._emit(job, state, error, capture, started, done)

    def _emit(
        self, job: Job, state: str, detail: str | None, capture: str | None, started: float,
        done: Captured | None = None,
    ) -> None:
        outcome = Outcome(job, state, detail, capture, time.monotonic() - started, done)
        self.summary.outcomes.append(outcome)
        self.on_event(outcome)


def _utc_now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
