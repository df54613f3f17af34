"""Finish what an interrupted or offline run left: items never sealed, items with no
timestamp yet. Nothing sealed is ever re-sealed, and nothing is timestamped unless its
seal.json still hashes to the root hash in the manifest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..config import TimestampSettings
from ..models import EventType, ImportMetadata, Provenance
from .case import Case
from .sealer import SEAL_FILE, SealResult, add_timestamps, seal_item

INCOMPLETE_PREFIX = ".incomplete-"
ITEM_EVENTS = (EventType.CAPTURE_SEALED, EventType.FILE_IMPORTED)


@dataclass
class PendingItem:
    path: str
    root_hash: str


def sealed_paths(case: Case) -> dict[str, str]:
    """item path -> root hash, for every sealed item in the manifest."""
    return {
        str(e.subject["path"]): str(e.subject["root_hash"])
        for e in case.manifest.events()
        if e.type in ITEM_EVENTS
    }


def pending_timestamps(case: Case) -> list[PendingItem]:
    events = case.manifest.events()
    stamped = {str(e.subject.get("path")) for e in events if e.type == EventType.TIMESTAMP_ADDED}
    return [
        PendingItem(str(e.subject["path"]), str(e.subject["root_hash"]))
        for e in events
        if e.type in ITEM_EVENTS and str(e.subject["path"]) not in stamped
    ]


def timestamp_pending(case: Case, settings: TimestampSettings) -> list[tuple[PendingItem, SealResult | str]]:
    """Ask the TSAs again for every pending item. Returns (item, result or reason skipped)."""
    done: list[tuple[PendingItem, SealResult | str]] = []
    for item in pending_timestamps(case):
        folder = case.folder / item.path
        try:
            sealed = (folder / SEAL_FILE).read_bytes()
        except FileNotFoundError:
            done.append((item, "seal.json is missing: run archiver verify"))
            continue
        if hashlib.sha256(sealed).hexdigest() != item.root_hash:
            done.append((item, "seal.json changed since sealing: not timestamped; run archiver verify"))
            continue
        result = SealResult(item.path, item.root_hash, [])
        add_timestamps(case, folder, sealed, settings, result)
        done.append((item, result))
    return done


def unsealed_items(case: Case) -> list[Path]:
    """Finished item folders the manifest does not know (a seal interrupted by a crash)."""
    known = sealed_paths(case)
    candidates = [p for p in case.folder.iterdir() if p.is_dir()]
    imports = case.folder / "imports"
    if imports.is_dir():
        candidates.remove(imports)
        candidates.extend(p for p in imports.iterdir() if p.is_dir())
    return sorted(
        p
        for p in candidates
        if not p.name.startswith((".", INCOMPLETE_PREFIX))
        and p.relative_to(case.folder).as_posix() not in known
        and ((p / "provenance.json").is_file() or (p / "metadata.json").is_file())
    )


def seal_folder(
    case: Case, folder: Path, settings: TimestampSettings, extra: dict | None = None
) -> SealResult:
    """Seal one finished item folder that the manifest does not know yet."""
    if (folder / "provenance.json").is_file():
        prov = Provenance.model_validate_json((folder / "provenance.json").read_bytes())
        subject = {"kind": "capture", "url": prov.requested_url, "state": prov.state.value}
        kind = EventType.CAPTURE_SEALED
    else:
        meta = ImportMetadata.model_validate(json.loads((folder / "metadata.json").read_bytes()))
        subject = {"kind": "import", "original_name": meta.original_name}
        kind = EventType.FILE_IMPORTED
    return seal_item(case, folder, kind, subject | (extra or {}), settings)


def seal_unsealed(case: Case, settings: TimestampSettings) -> list[SealResult]:
    return [seal_folder(case, folder, settings) for folder in unsealed_items(case)]
