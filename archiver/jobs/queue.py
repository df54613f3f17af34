"""The case's job queue: SQLite (WAL) in the case folder, one row per URL to capture.

States: queued -> running -> done | partial | failed (failed jobs may be retried). A job
records the name of the capture folder it is producing *before* the capture starts, so a
run killed at any moment can be reconciled on resume: finished-and-sealed -> done, finished
but unsealed -> sealed then done, anything else -> queued again. Nothing is captured twice.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

QUEUE_NAME = "jobs.sqlite"
STATES = ("queued", "running", "done", "partial", "failed")
FINISHED = ("done", "partial")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    seconds REAL,
    last_error TEXT,
    capture TEXT,
    not_before REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE INDEX IF NOT EXISTS jobs_url ON jobs(url);
"""


@dataclass
class Job:
    id: int
    url: str
    host: str
    state: str
    attempts: int
    created: float
    started: float | None
    finished: float | None
    seconds: float | None
    last_error: str | None
    capture: str | None
    not_before: float


class JobQueue:
    def __init__(self, case_folder: Path):
        self.path = case_folder / QUEUE_NAME
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def _rows(self, sql: str, args: tuple = ()) -> list[Job]:
        return [Job(*row) for row in self.db.execute(sql, args).fetchall()]

    def add(self, urls: list[str], again: bool = False) -> tuple[list[Job], int]:
        """Queue URLs; a URL already in the case is the same job unless `again`.
        Returns (the jobs for these URLs, how many were new)."""
        jobs, new = [], 0
        with self._tx():
            for url in urls:
                existing = None if again else self._one("SELECT * FROM jobs WHERE url = ? ORDER BY id LIMIT 1", (url,))
                if existing is None:
                    host = (urlsplit(url).hostname or "").lower()
                    cur = self.db.execute(
                        "INSERT INTO jobs (url, host, created) VALUES (?, ?, ?)", (url, host, time.time())
                    )
                    existing = self._one("SELECT * FROM jobs WHERE id = ?", (cur.lastrowid,))
                    new += 1
                jobs.append(existing)
        return jobs, new

    def _one(self, sql: str, args: tuple) -> Job | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None

    def _tx(self):
        return _Transaction(self.db)

    def claim(self, job_id: int, capture: str) -> None:
        with self._tx():
            self.db.execute(
                "UPDATE jobs SET state='running', attempts=attempts+1, started=?, capture=?, last_error=NULL"
                " WHERE id=?",
                (time.time(), capture, job_id),
            )

    def finish(self, job_id: int, state: str, error: str | None = None, capture: str | None = None) -> None:
        assert state in STATES
        with self._tx():
            self.db.execute(
                "UPDATE jobs SET state=?, finished=?, seconds=?-started, last_error=?,"
                " capture=COALESCE(?, capture) WHERE id=?",
                (state, time.time(), time.time(), error, capture, job_id),
            )

    def requeue(self, job_id: int, error: str, delay: float) -> None:
        with self._tx():
            self.db.execute(
                "UPDATE jobs SET state='queued', last_error=?, not_before=? WHERE id=?",
                (error, time.time() + delay, job_id),
            )

    def queued(self) -> list[Job]:
        return self._rows("SELECT * FROM jobs WHERE state='queued' ORDER BY id")

    def running(self) -> list[Job]:
        return self._rows("SELECT * FROM jobs WHERE state='running' ORDER BY id")

    def all(self) -> list[Job]:
        return self._rows("SELECT * FROM jobs ORDER BY id")

    def retry_failed(self) -> int:
        with self._tx():
            return self.db.execute(
                "UPDATE jobs SET state='queued', not_before=0 WHERE state='failed'"
            ).rowcount

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATES}
        for state, n in self.db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state"):
            out[state] = n
        return out


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT: one writer at a time, durable before it returns."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
