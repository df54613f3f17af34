"""Seal an item folder (a capture or an import): hash every artifact, write seal.json and
SHA256SUMS, append the signed manifest event, then ask the TSAs for timestamps.

Order matters for crash safety: seal files first (atomic), then the event (one append),
then tokens (each atomic, each followed by its event). A crash at any point leaves
something verify names precisely, and `archiver seal CASE` finishes the job later.
"""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..canonical import canonical_bytes
from ..config import TimestampSettings
from ..models import Artifact, EventType
from ..storage.atomic import atomic_write_bytes
from .case import Case
from ..storage.digest import sha256_file
from .hashing import IMAGE_TYPES, media_type, perceptual_hash

SEAL_FILE = "seal.json"
SUMS_FILE = "SHA256SUMS"
TIMESTAMPS_DIR = "timestamps"
NOT_ARTIFACTS = {SEAL_FILE, SUMS_FILE}


def is_artifact(relative: str) -> bool:
    """Part of the sealed list? (Not the seal files, not tokens, not hidden temp files.)"""
    name = relative.rsplit("/", 1)[-1]
    return (
        relative not in NOT_ARTIFACTS
        and not relative.startswith(TIMESTAMPS_DIR + "/")
        and not name.startswith(".")
    )


def _artifact(item_dir: Path, path: Path) -> Artifact:
    digest, size = sha256_file(path)
    kind = media_type(path)
    return Artifact(
        path=path.relative_to(item_dir).as_posix(),
        size=size,
        sha256=digest,
        media_type=kind,
        phash=perceptual_hash(path) if kind in IMAGE_TYPES else None,
    )


def list_artifacts(item_dir: Path, workers: int = 2) -> list[Artifact]:
    """Every artifact of the item, sorted by path; files are hashed (and images decoded for
    their pHash) on a small thread pool: hashlib, zlib and Pillow release the GIL."""
    files = sorted(
        (
            p
            for p in item_dir.rglob("*")
            if p.is_file() and not p.is_symlink() and is_artifact(p.relative_to(item_dir).as_posix())
        ),
        key=lambda p: p.relative_to(item_dir).as_posix().encode("utf-8"),
    )
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: _artifact(item_dir, p), files))


def seal_bytes(artifacts: list[Artifact]) -> bytes:
    return canonical_bytes([a.model_dump(mode="json") for a in artifacts])


def sums_text(artifacts: list[Artifact]) -> bytes:
    return "".join(f"{a.sha256}  {a.path}\n" for a in artifacts).encode("utf-8")


@dataclass
class SealResult:
    path: str  # relative to the case folder
    root_hash: str
    artifacts: list[Artifact]
    timestamps: list[str] = field(default_factory=list)  # TSA URLs that answered
    timestamp_errors: list[str] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return not self.timestamps


TEMP_FILE = re.compile(r"^\..+\.\d+\.part$")  # storage.atomic's temp names


def remove_stale_temp_files(folder: Path) -> list[str]:
    """Temp files of atomic writes that never completed (a kill mid-write): never evidence,
    never renamed into place; removed before a seal so they cannot be mistaken for it."""
    removed = []
    for path in folder.rglob(".*.part"):
        if path.is_file() and TEMP_FILE.match(path.name):
            path.unlink()
            removed.append(path.relative_to(folder).as_posix())
    return removed


def seal_item(
    case: Case,
    item_dir: Path,
    event_type: EventType,
    subject_extra: dict[str, Any],
    timestamps: TimestampSettings,
) -> SealResult:
    remove_stale_temp_files(item_dir)
    artifacts = list_artifacts(item_dir)
    sealed = seal_bytes(artifacts)
    atomic_write_bytes(item_dir / SEAL_FILE, sealed)
    atomic_write_bytes(item_dir / SUMS_FILE, sums_text(artifacts))
    root_hash = hashlib.sha256(sealed).hexdigest()
    relative = item_dir.relative_to(case.folder).as_posix()
    subject = {
        "path": relative,
        **subject_extra,
        "root_hash": root_hash,
        "artifacts": [a.model_dump(mode="json") for a in artifacts],
    }
    case.record(event_type, subject)
    result = SealResult(relative, root_hash, artifacts)
    if timestamps.enabled:
        add_timestamps(case, item_dir, sealed, timestamps, result)
    return result


def add_timestamps(
    case: Case, item_dir: Path, sealed: bytes, settings: TimestampSettings, result: SealResult
) -> None:
    """Ask every TSA; record each token that came back. None: the item stays pending."""
    from .timestamps import request_timestamps

    tokens, errors = request_timestamps(sealed, item_dir / TIMESTAMPS_DIR, settings)
    result.timestamp_errors.extend(errors)
    for token in tokens:
        case.record(
            EventType.TIMESTAMP_ADDED,
            {
                "path": result.path,
                "root_hash": result.root_hash,
                "tsa": token.tsa,
                "gen_time": token.gen_time,
                "token": token.tsr_path.relative_to(item_dir).as_posix(),
                "token_sha256": token.token_sha256,
                "chain": token.chain_path.relative_to(item_dir).as_posix(),
            },
        )
        result.timestamps.append(token.tsa)
