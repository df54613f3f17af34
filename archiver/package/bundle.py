"""An evidence bundle: the whole case in one zip, files byte-for-byte as sealed, with the
stations' public keys and a README (English and Indonesian) on how to verify it.

Exporting appends an `export-made` event with the bundle's SHA-256 to the case.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from ..errors import UserError
from ..models import EventType
from ..seal.case import Case
from ..storage.digest import sha256_file
from ..storage.atomic import fsync_dir, temp_path

SKIPPED = (".case.lock", ".payload-index.sqlite", "jobs.sqlite")  # working files, not evidence
COMPRESSED = (".gz", ".png", ".jpg", ".jpeg", ".pdf", ".mp4", ".webm", ".zip", ".wacz", ".tsr")


@dataclass
class BundleSummary:
    path: Path
    sha256: str
    size: int
    files: int
    items: int
    skipped: list[str]


def _incomplete_root(rel: Path) -> str | None:
    """The `.incomplete-*` folder a file sits in (an interrupted capture), if any."""
    for i, part in enumerate(rel.parts[:-1]):
        if part.startswith(".incomplete-"):
            return "/".join(rel.parts[: i + 1])
    return None


def _case_files(case: Case) -> tuple[list[Path], list[str]]:
    """Every file of the case except locks, the derived dedup index and interrupted
    captures (never sealed, not evidence: listed as skipped)."""
    keep, skipped = [], set()
    for path in sorted(case.folder.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(case.folder)
        incomplete = _incomplete_root(rel)
        if incomplete:
            skipped.add(incomplete)
        elif not rel.name.startswith(SKIPPED):
            keep.append(path)
    return keep, sorted(skipped)


def export_bundle(case: Case, out: Path, force: bool = False) -> BundleSummary:
    out = Path(out)
    if out.exists() and not force:
        raise UserError(f"{out} already exists", hint="choose another name (evidence files are never overwritten)")
    if out.resolve().is_relative_to(case.folder.resolve()):
        raise UserError("the bundle cannot be written inside the case folder it contains")
    files, skipped = _case_files(case)
    events = case.manifest.events()
    items = [e for e in events if e.type in (EventType.CAPTURE_SEALED, EventType.FILE_IMPORTED)]
    captures = sum(1 for e in items if e.type == EventType.CAPTURE_SEALED)
    readme = resources.files("archiver.package").joinpath("bundle_readme.md").read_text("utf-8").format(
        case=case.name,
        exported=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        station=case.identity.fingerprint,
        operator_line=f", operator {case.operator}" if case.operator else "",
        items=len(items),
        captures=captures,
        imports=len(items) - captures,
        bundle_name=out.name,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(out)
    try:
        with zipfile.ZipFile(tmp, "x", allowZip64=True) as zf:
            zf.writestr("README.md", readme, compress_type=zipfile.ZIP_DEFLATED)
            for station in case.info.stations:
                zf.writestr(f"station-keys/{station.fingerprint}.pub.pem", station.public_key_pem, compress_type=zipfile.ZIP_DEFLATED)
            for path in files:
                arcname = f"{case.name}/{path.relative_to(case.folder).as_posix()}"
                kind = zipfile.ZIP_STORED if path.name.lower().endswith(COMPRESSED) else zipfile.ZIP_DEFLATED
                zf.write(path, arcname, compress_type=kind)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    digest, size = sha256_file(out)
    case.record(
        EventType.EXPORT_MADE,
        {"kind": "bundle", "path": str(out), "sha256": digest, "size": size, "items": len(items)},
    )
    return BundleSummary(out, digest, size, len(files) + 1 + len(case.info.stations), len(items), skipped)
