"""Check an item folder's files against its sealed artifact list."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..canonical import canonical_bytes
from ..models import Artifact
from .report import ItemReport
from ..storage.digest import sha256_file

SEAL_FILE = "seal.json"
SUMS_FILE = "SHA256SUMS"
TIMESTAMPS_DIR = "timestamps"
HARMLESS = {".DS_Store", "Thumbs.db", "desktop.ini"}  # made by file browsers, not evidence
TEMP_FILE = re.compile(r"^\..+\.\d+\.part$")  # temp name of an atomic write (storage.atomic)


def check_seal_files(item_dir: Path, rel: str, artifacts: list[Artifact], root_hash: str, report: ItemReport) -> None:
    """seal.json must be exactly the canonical list (its hash the root hash); SHA256SUMS its
    sha256sum rendering."""
    expected = canonical_bytes([a.model_dump(mode="json") for a in artifacts])
    if hashlib.sha256(expected).hexdigest() != root_hash:
        report.fail(f"{rel}/{SEAL_FILE}", "the artifact list in the manifest does not hash to its root hash")
    seal = item_dir / SEAL_FILE
    if not seal.exists():
        report.fail(f"{rel}/{SEAL_FILE}", "missing")
    elif hashlib.sha256(seal.read_bytes()).hexdigest() != root_hash:
        report.fail(f"{rel}/{SEAL_FILE}", "changed: its SHA-256 is not the sealed root hash")
    sums = item_dir / SUMS_FILE
    text = "".join(f"{a.sha256}  {a.path}\n" for a in artifacts).encode()
    if not sums.exists():
        report.fail(f"{rel}/{SUMS_FILE}", "missing")
    elif sums.read_bytes() != text:
        report.fail(f"{rel}/{SUMS_FILE}", "does not match the sealed artifact list")


def hash_artifact(item_dir: Path, artifact: Artifact) -> tuple[Artifact, str | None, int | None]:
    """(artifact, actual sha256 or None if missing, actual size)."""
    path = item_dir / artifact.path
    if not path.is_file():
        return artifact, None, None
    digest, size = sha256_file(path)
    return artifact, digest, size


def record_hash_result(rel: str, result: tuple[Artifact, str | None, int | None], report: ItemReport) -> None:
    artifact, digest, size = result
    name = f"{rel}/{artifact.path}"
    if digest is None:
        report.fail(name, "missing (listed in the seal)")
        return
    report.files_checked += 1
    report.bytes_checked += size or 0
    if size != artifact.size:
        report.fail(name, f"changed: {size} bytes, sealed with {artifact.size}")
    elif digest != artifact.sha256:
        report.fail(name, "changed: SHA-256 differs from the sealed one")


def check_unlisted(item_dir: Path, rel: str, artifacts: list[Artifact], tokens: set[str], report: ItemReport) -> None:
    listed = {a.path for a in artifacts} | {SEAL_FILE, SUMS_FILE} | tokens
    for path in sorted(item_dir.rglob("*")):
        if not path.is_file() and not path.is_symlink():
            continue
        relative = path.relative_to(item_dir).as_posix()
        if relative in listed:
            continue
        if path.name in HARMLESS:
            report.notes.append(f"{rel}/{relative}: ignored (made by a file browser)")
        elif TEMP_FILE.match(path.name):
            report.notes.append(f"{rel}/{relative}: a temporary file of a write that was interrupted (not evidence)")
        elif relative.startswith(TIMESTAMPS_DIR + "/"):
            report.fail(f"{rel}/{relative}", "not recorded in the manifest (added after sealing?)")
        else:
            report.fail(f"{rel}/{relative}", "not in the seal (added after sealing)")
