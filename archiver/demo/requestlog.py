"""A thread-safe record of the requests a demo server received."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server parsed it.

    ``path`` is the request target as sent (query string included);
    ``headers`` has lower-cased names, repeated headers joined with ", ".
    """

    server: str
    method: str
    path: str
    headers: dict[str, str]
    time: float = field(default_factory=time.time)

    @property
    def url_path(self) -> str:
        """The path without the query string."""
        return urlsplit(self.path).path

    @property
    def host(self) -> str | None:
        return self.headers.get("host")


class RequestLog:
    """An append-only list of :class:`RecordedRequest`, safe to share between threads.

    Reading (iteration, ``len``, indexing) works on a snapshot.
    """

    def __init__(self) -> None:
        self._items: list[RecordedRequest] = []
        self._changed = threading.Condition()

    def append(self, item: RecordedRequest) -> None:
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    def snapshot(self) -> list[RecordedRequest]:
        with self._changed:
            return list(self._items)

    def clear(self) -> None:
        with self._changed:
            self._items.clear()

    def paths(self) -> list[str]:
        """Request targets (with query strings) in arrival order."""
        return [item.path for item in self.snapshot()]

    def matching(self, path: str) -> list[RecordedRequest]:
        """Requests whose path (ignoring the query string) equals ``path``."""
        return [item for item in self.snapshot() if item.url_path == path]

    def wait_for(
        self, what: str | Callable[[RecordedRequest], bool], timeout: float = 5.0
    ) -> RecordedRequest | None:
        """Block until a request matches; ``what`` is a path (query ignored) or a predicate."""
        predicate = what if callable(what) else (lambda item: item.url_path == what)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for item in self._items:
                    if predicate(item):
                        return item
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._changed:
            return len(self._items)

    def __getitem__(self, index: int) -> RecordedRequest:
        with self._changed:
            return self._items[index]
