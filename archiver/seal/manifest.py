"""manifest.jsonl: the case's append-only, hash-chained, signed chain of custody.

Each event is one line; `prev` is the SHA-256 of the previous line's exact bytes (the line
without its newline; all zeros for the first). An event is appended with a single write()
and fsync, under an exclusive lock so two processes never interleave. If the file does not
end in a newline (a torn write from a crash), the torn bytes are kept, closed with a
newline, and the next event chains over them: history is never rewritten, and verify
reports the torn line.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..models import ZERO_HASH, Actor, EventType, ManifestEvent
from ..canonical import canonical_bytes
from .identity import StationIdentity

MANIFEST_NAME = "manifest.jsonl"
TAIL = 1 << 16


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def signing_bytes(event: ManifestEvent) -> bytes:
    """What the signature covers: the canonical JSON of the event without `sig`."""
    return canonical_bytes(event.model_dump(mode="json", exclude={"sig"}))


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


@dataclass
class Line:
    number: int  # 1-based
    raw: bytes  # without the newline
    complete: bool  # ended with a newline


def read_lines(path: Path) -> list[Line]:
    data = path.read_bytes() if path.exists() else b""
    parts = data.split(b"\n")
    lines = [Line(i + 1, raw, True) for i, raw in enumerate(parts[:-1])]
    if parts[-1]:
        lines.append(Line(len(parts), parts[-1], False))
    return lines


def _last_event(tail: bytes) -> tuple[int, bytes | None, bool]:
    """From the file's tail: (seq of the last parseable event, last line's bytes, torn?)."""
    torn = bool(tail) and not tail.endswith(b"\n")
    lines = tail.split(b"\n")
    last_line = lines[-1] if torn else (lines[-2] if len(lines) >= 2 else None)
    seq = 0
    for raw in reversed(lines):
        try:
            seq = int(json.loads(raw)["seq"])
            break
        except (ValueError, KeyError, TypeError):
            continue
    return seq, last_line, torn


def _write_whole(fd: int, data: bytes, size_before: int) -> None:
    """Append all of `data` and fsync, or leave the file as it was and raise (a full disk
    must not leave a torn event that was reported as recorded)."""
    done = 0
    try:
        while done < len(data):
            n = os.write(fd, data[done:])
            if n <= 0:
                raise OSError(errno.ENOSPC, "no space left for the manifest event")
            done += n
        os.fsync(fd)
    except OSError:
        os.ftruncate(fd, size_before)  # we hold the lock: nobody appended after us
        raise


class Manifest:
    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def _locked(self) -> Iterator[int]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)

    def append(
        self,
        identity: StationIdentity,
        type_: EventType,
        subject: dict[str, Any],
        operator: str | None = None,
    ) -> ManifestEvent:
        with self._locked() as fd:
            size = os.fstat(fd).st_size
            start = max(0, size - TAIL)
            tail = os.pread(fd, size - start, start)
            if start > 0:  # drop the partial first line of the window
                tail = tail[tail.find(b"\n") + 1 :]
            seq, last_line, torn = _last_event(tail)
            prefix = b"\n" if torn else b""
            event = ManifestEvent(
                seq=seq + 1,
                time=utc_now(),
                type=type_,
                subject=subject,
                actor=Actor(station=identity.fingerprint, operator=operator),
                prev=line_hash(last_line) if last_line is not None else ZERO_HASH,
            )
            event.sig = identity.sign(signing_bytes(event))
            _write_whole(fd, prefix + canonical_bytes(event.model_dump(mode="json")) + b"\n", size)
        return event

    def events(self) -> list[ManifestEvent]:
        """Every complete, parseable event (verify reads the lines itself, strictly)."""
        out = []
        for line in read_lines(self.path):
            if not line.complete:
                continue
            try:
                out.append(ManifestEvent.model_validate_json(line.raw))
            except ValueError:
                continue
        return out
