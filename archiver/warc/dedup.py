"""Exact dedup: identical payloads recorded again in a case become `revisit` records.

The case keeps an index (SQLite, `.payload-index.sqlite`) of the payload digests of its
*sealed* captures' response records: sha256 -> the first record (id, URI, date, WARC file).
Only sealed captures are indexed, so a revisit never points into a capture that was
interrupted. The index is derived data: losing it costs dedup, never evidence.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

INDEX_NAME = ".payload-index.sqlite"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"


@dataclass(frozen=True)
class Original:
    record_id: str
    target_uri: str
    date: str  # WARC-Date of the original record
    warc: str  # WARC file, relative to the case folder ('' = the same file)


class PayloadIndex:
    def __init__(self, case_folder: Path):
        self.path = case_folder / INDEX_NAME
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS payloads (digest TEXT PRIMARY KEY, record_id TEXT,"
            " target_uri TEXT, date TEXT, warc TEXT)"
        )
        self.db.commit()

    def lookup(self, digest: str) -> Original | None:
        row = self.db.execute(
            "SELECT record_id, target_uri, date, warc FROM payloads WHERE digest = ?", (digest,)
        ).fetchone()
        return Original(*row) if row else None

    def add(self, entries: Iterable[tuple[str, Original]]) -> None:
        """Remember payloads of a sealed capture; the first one recorded stays the original."""
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO payloads VALUES (?, ?, ?, ?, ?)",
                [(d, o.record_id, o.target_uri, o.date, o.warc) for d, o in entries],
            )

    def close(self) -> None:
        self.db.close()
