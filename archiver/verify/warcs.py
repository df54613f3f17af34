"""Check every record digest of a WARC, and collect what revisits need resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
import zlib
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

CHUNK = 1 << 20


@dataclass
class WarcCheck:
    records: int = 0
    problems: list[str] = field(default_factory=list)
    originals: dict[str, str] = field(default_factory=dict)  # record id -> payload digest
    revisits: list[tuple[str, str, str]] = field(default_factory=list)  # (uri, refers-to, digest)


def check_warc(path: Path, digests: bool = True) -> WarcCheck:
    """Read every record; with `digests`, check each block and payload digest (warcio does
    not check a revisit's block digest: the file's own SHA-256 in the seal covers it)."""
    check = WarcCheck()
    try:
        with open(path, "rb") as fh:
            records = ArchiveIterator(fh, check_digests=digests)
            for record in records:
                stream = record.content_stream()
                while stream.read(CHUNK):
                    pass
                check.records += 1
                headers = record.rec_headers
                kind = record.rec_type
                uri = headers.get_header("WARC-Target-URI") or ""
                if digests and record.digest_checker.passed is False:
                    where = f"record {check.records} ({kind} {uri}) at offset {records.get_record_offset()}"
                    check.problems.append(f"{where}: {'; '.join(record.digest_checker.problems)}")
                digest = headers.get_header("WARC-Payload-Digest")
                if kind == "response" and digest:
                    check.originals[headers.get_header("WARC-Record-ID")] = digest
                elif kind == "revisit":
                    check.revisits.append((uri, headers.get_header("WARC-Refers-To") or "", digest or ""))
    except (ArchiveLoadFailed, OSError, EOFError, ValueError, zlib.error) as exc:
        check.problems.append(f"unreadable after {check.records} records: {exc}".strip())
    if digests and not check.problems:
        damage = gzip_damage(path)  # warcio reads a damaged record short and says nothing
        if damage:
            check.problems.append(damage)
    return check


def gzip_damage(path: Path) -> str | None:
    """Decompress every gzip member (one per record) and check its CRC. warcio, given a
    damaged member, prints the zlib error, reads the record short and leaves its digests
    "not checked", so `check_warc` and `warcio check` pass it: this catches it."""
    with open(path, "rb") as fh:
        if fh.read(2) != b"\x1f\x8b":
            return None  # an uncompressed WARC: the digests cover it
        fh.seek(0)
        decompressor = zlib.decompressobj(31)
        consumed = start = 0
        data = b""
        while True:
            if not data:
                data = fh.read(CHUNK)
                if not data:
                    break
            try:
                decompressor.decompress(data, CHUNK)
            except zlib.error as exc:
                return f"the record at offset {start} is damaged (gzip: {exc})"
            if decompressor.eof:
                rest = decompressor.unused_data
                consumed += len(data) - len(rest)
                start = consumed
                decompressor = zlib.decompressobj(31)
                data = rest
            else:
                tail = decompressor.unconsumed_tail
                consumed += len(data) - len(tail)
                data = tail
        if consumed > start:
            return f"the record at offset {start} is cut short (gzip member not complete)"
    return None

