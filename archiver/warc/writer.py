"""Exchanges and attachments -> WARC/1.1 records, one gzip member each, sha256 digests.

Written by hand rather than through warcio's writer so that every digest is sha256 and is
computed over exactly the bytes stored (warcio's writer would recompute sha1). warcio
remains the reader and `warcio check` the referee in the tests.
"""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..capture.exchange import BodyState, Exchange, Hop
from ..storage.atomic import AtomicFile
from . import http
from .dedup import REVISIT_PROFILE, Original

CHUNK = 1 << 20


def warc_date(when: datetime | float | None = None) -> str:
    if when is None:
        when = datetime.now(timezone.utc)
    elif isinstance(when, (int, float)):
        when = datetime.fromtimestamp(when, timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def sha256_label(digest: "hashlib._Hash") -> str:
    return "sha256:" + digest.hexdigest()


@dataclass
class RecordInfo:
    """Where a record landed, for the capture summary and later indexing."""

    record_id: str
    record_type: str
    target_uri: str
    date: str
    offset: int
    length: int  # compressed bytes in the file
    payload_digest: str | None
    content_length: int


Lookup = Callable[[str], "Original | None"]


class WarcWriter:
    """Appends records to `<path>` (written as a temp file, renamed on close).

    With `dedup_lookup`, a complete body of at least `dedup_min_size` bytes whose payload
    digest was already recorded (earlier in this file, or in a sealed capture of the case)
    is written as a `revisit` record pointing at the first one."""

    def __init__(self, path: Path, dedup_lookup: Lookup | None = None, dedup_min_size: int = 1024):
        self.path = path
        self.file = AtomicFile(path)
        self.records: list[RecordInfo] = []
        self.warcinfo_id: str | None = None
        self.dedup_lookup = dedup_lookup
        self.dedup_min_size = dedup_min_size
        self.seen: dict[str, Original] = {}  # payload digest -> first response in this file
        self.revisits = 0
        self.bytes_saved = 0

    # -- low level --------------------------------------------------------------------

    def _write_record(
        self,
        record_type: str,
        headers: list[tuple[str, str]],
        blocks: Iterable[bytes],
        block_length: int,
        block_digest: str,
        payload_digest: str | None,
        target_uri: str,
        record_id: str | None = None,
    ) -> RecordInfo:
        record_id = record_id or new_record_id()
        fields = [("WARC-Type", record_type), ("WARC-Record-ID", record_id)]
        fields += headers
        if self.warcinfo_id and record_type != "warcinfo":
            fields.append(("WARC-Warcinfo-ID", self.warcinfo_id))
        fields.append(("WARC-Block-Digest", block_digest))
        if payload_digest:
            fields.append(("WARC-Payload-Digest", payload_digest))
        fields.append(("Content-Length", str(block_length)))
        head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"
        offset = self.file.tell()
        gz = zlib.compressobj(6, zlib.DEFLATED, 31)
        self.file.write(gz.compress(head.encode("utf-8")))
        for block in blocks:
            self.file.write(gz.compress(block))
        self.file.write(gz.compress(b"\r\n\r\n"))
        self.file.write(gz.flush())
        date = next(v for k, v in headers if k == "WARC-Date")
        info = RecordInfo(
            record_id=record_id,
            record_type=record_type,
            target_uri=target_uri,
            date=date,
            offset=offset,
            length=self.file.tell() - offset,
            payload_digest=payload_digest,
            content_length=block_length,
        )
        self.records.append(info)
        return info

    # -- record kinds -----------------------------------------------------------------

    def write_warcinfo(self, fields: dict[str, str]) -> str:
        body = "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode("utf-8")
        info = self._write_record(
            "warcinfo",
            [
                ("WARC-Date", warc_date()),
                ("WARC-Filename", self.path.name),
                ("Content-Type", "application/warc-fields"),
            ],
            [body],
            len(body),
            sha256_label(hashlib.sha256(body)),
            None,
            "",
        )
        self.warcinfo_id = info.record_id
        return info.record_id

    def write_hop(self, hop: Hop, is_last: bool) -> RecordInfo | None:
        """A request record and, if a response arrived, its response (or revisit) record."""
        date = warc_date(hop.wall_time)
        response_info = None
        response_id, request_id = new_record_id(), new_record_id()
        common = [("WARC-Target-URI", hop.url), ("WARC-Date", date)]
        if hop.remote_ip:
            common.append(("WARC-IP-Address", hop.remote_ip.strip("[]")))
        if hop.has_response:
            body = hop.body if is_last else b""
            resp_head = http.response_head(hop, len(body))
            payload_digest = sha256_label(hashlib.sha256(body))
            headers = list(common)
            headers += [("WARC-Protocol", p) for p in http.warc_protocols(hop)]
            headers.append(("WARC-Concurrent-To", request_id))
            headers.append(("Content-Type", "application/http;msgtype=response"))
            original = self._original_for(payload_digest, hop, len(body))
            if original is not None:
                response_info = self._write_revisit(
                    headers, resp_head, payload_digest, original, hop.url, response_id
                )
                self.bytes_saved += len(body)
            else:
                if is_last and hop.body_state in (
                    BodyState.TRUNCATED_LENGTH,
                    BodyState.TRUNCATED_TIME,
                    BodyState.UNAVAILABLE,
                ):
                    headers.append(("WARC-Truncated", hop.body_state.value))
                block_digest = hashlib.sha256(resp_head)
                block_digest.update(body)
                response_info = self._write_record(
                    "response",
                    headers,
                    [resp_head, body],
                    len(resp_head) + len(body),
                    sha256_label(block_digest),
                    payload_digest,
                    hop.url,
                    record_id=response_id,
                )
                if len(body) >= self.dedup_min_size and hop.body_state == BodyState.COMPLETE:
                    self.seen.setdefault(
                        payload_digest, Original(response_id, hop.url, date, warc="")
                    )
        req_head = http.request_head(hop)
        req_body = hop.post_data or b""
        block = hashlib.sha256(req_head)
        block.update(req_body)
        headers = list(common)
        if response_info:
            headers.append(("WARC-Concurrent-To", response_info.record_id))
        headers.append(("Content-Type", "application/http;msgtype=request"))
        self._write_record(
            "request",
            headers,
            [req_head, req_body],
            len(req_head) + len(req_body),
            sha256_label(block),
            sha256_label(hashlib.sha256(req_body)) if req_body else None,
            hop.url,
            record_id=request_id,
        )
        return response_info

    def _original_for(self, digest: str, hop: Hop, size: int) -> Original | None:
        if self.dedup_lookup is None or size < self.dedup_min_size:
            return None
        if hop.body_state != BodyState.COMPLETE:
            return None
        return self.seen.get(digest) or self.dedup_lookup(digest)

    def _write_revisit(
        self,
        headers: list[tuple[str, str]],
        resp_head: bytes,
        payload_digest: str,
        original: Original,
        uri: str,
        record_id: str,
    ) -> RecordInfo:
        """The HTTP headers as received; the payload is the original record's."""
        self.revisits += 1
        headers = headers + [
            ("WARC-Profile", REVISIT_PROFILE),
            ("WARC-Refers-To", original.record_id),
            ("WARC-Refers-To-Target-URI", original.target_uri),
            ("WARC-Refers-To-Date", original.date),
        ]
        return self._write_record(
            "revisit",
            headers,
            [resp_head],
            len(resp_head),
            sha256_label(hashlib.sha256(resp_head)),
            payload_digest,
            uri,
            record_id=record_id,
        )

    def write_exchange(self, exchange: Exchange) -> list[RecordInfo]:
        written = []
        for i, hop in enumerate(exchange.hops):
            info = self.write_hop(hop, is_last=i == len(exchange.hops) - 1)
            if info:
                written.append(info)
        return written

    def write_resource(self, uri: str, path: Path, content_type: str) -> RecordInfo:
        """A file (screenshot, PDF, DOM) as a `resource` record, streamed twice from disk."""
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        label = sha256_label(digest)

        def chunks() -> Iterable[bytes]:
            with open(path, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    yield chunk

        return self._write_record(
            "resource",
            [("WARC-Target-URI", uri), ("WARC-Date", warc_date()), ("Content-Type", content_type)],
            chunks(),
            size,
            label,
            label,
            uri,
        )

    def write_resource_bytes(self, uri: str, data: bytes, content_type: str) -> RecordInfo:
        label = sha256_label(hashlib.sha256(data))
        return self._write_record(
            "resource",
            [("WARC-Target-URI", uri), ("WARC-Date", warc_date()), ("Content-Type", content_type)],
            [data],
            len(data),
            label,
            label,
            uri,
        )

    def close(self) -> None:
        self.file.commit()

    def abort(self) -> None:
        self.file.abort()
