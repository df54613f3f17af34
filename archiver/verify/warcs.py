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
    return check
