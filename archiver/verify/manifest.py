"""Check manifest.jsonl strictly: every line whole, parseable, in sequence, chained to the
previous line's exact bytes, and signed by a station listed in case.json."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from ..canonical import canonical_bytes
from ..models import ZERO_HASH, CaseInfo, ManifestEvent
from .report import Problem

MANIFEST = "manifest.jsonl"


@dataclass
class ManifestCheck:
    events: list[ManifestEvent] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problem(self, line: int | None, reason: str) -> None:
        where = f"{MANIFEST} line {line}" if line else MANIFEST
        self.problems.append(Problem(file=MANIFEST, reason=f"{where}: {reason}"))


def _station_keys(info: CaseInfo, check: ManifestCheck) -> dict[str, ec.EllipticCurvePublicKey]:
    keys = {}
    for station in info.stations:
        key = serialization.load_pem_public_key(station.public_key_pem.encode())
        der = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if hashlib.sha256(der).hexdigest() != station.fingerprint or not isinstance(
            key, ec.EllipticCurvePublicKey
        ):
            check.problems.append(
                Problem(file="case.json", reason=f"station {station.fingerprint[:16]}…: public key does not match its fingerprint")
            )
            continue
        keys[station.fingerprint] = key
    return keys


def _signature_ok(key: ec.EllipticCurvePublicKey, event: ManifestEvent) -> bool:
    message = canonical_bytes(event.model_dump(mode="json", exclude={"sig"}))
    try:
        key.verify(base64.b64decode(event.sig), message, ec.ECDSA(hashes.SHA384()))
    except (InvalidSignature, ValueError):
        return False
    return True


def check_manifest(case_dir: Path, info: CaseInfo) -> ManifestCheck:
    check = ManifestCheck()
    path = case_dir / MANIFEST
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        check.problem(None, "missing")
        return check
    keys = _station_keys(info, check)
    raw_lines = data.split(b"\n")
    torn_tail = raw_lines.pop()  # b"" when the file ends with a newline
    prev_hash = ZERO_HASH
    expected_seq = 1
    for number, raw in enumerate(raw_lines, 1):
        this_hash = hashlib.sha256(raw).hexdigest()
        try:
            event = ManifestEvent.model_validate_json(raw)
        except (ValidationError, ValueError):
            if number < len(raw_lines) and not _looks_like_event(raw):
                # bytes that are no event at all, closed by a later append: a torn write
                check.notes.append(
                    f"{MANIFEST} line {number}: an incomplete write (interrupted run), kept "
                    "as is; the next event chains over it"
                )
            else:
                check.problem(number, "not a valid event (changed or damaged)")
            prev_hash = this_hash
            continue
        if event.prev != prev_hash:
            check.problem(number, "chain broken: prev does not match the line before (lines changed, removed or reordered)")
        if event.seq != expected_seq:
            check.problem(number, f"seq {event.seq}, expected {expected_seq} (lines removed or reordered)")
        if raw != canonical_bytes(event.model_dump(mode="json")):
            check.problem(number, "not in canonical form (edited)")
        key = keys.get(event.actor.station)
        if key is None:
            check.problem(number, f"signed by station {event.actor.station[:16]}…, which case.json does not list")
        elif not _signature_ok(key, event):
            check.problem(number, "signature does not verify (event changed after signing)")
        check.events.append(event)
        prev_hash = this_hash
        expected_seq = event.seq + 1
    if torn_tail:
        check.problem(
            len(raw_lines) + 1,
            "last line is incomplete (no newline): a torn write from a crash, or the file was truncated",
        )
    return check


def _looks_like_event(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False
