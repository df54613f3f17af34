"""A case: a folder under the output dir with case.json and manifest.jsonl.

Captures and imports live in it as item folders; the manifest is their chain of custody.
"""

from __future__ import annotations

import fcntl
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import UserError
from ..models import CaseInfo, EventType, ManifestEvent, StationInfo
from ..storage.atomic import atomic_write_model
from .identity import ALGORITHM, StationIdentity
from .manifest import MANIFEST_NAME, Manifest, utc_now

CASE_FILE = "case.json"
LOCK_FILE = ".case.lock"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_case_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise UserError(
            f"bad case name {name!r}",
            hint="use letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    return name


@contextmanager
def _case_lock(folder: Path) -> Iterator[None]:
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@dataclass
class Case:
    folder: Path
    info: CaseInfo
    identity: StationIdentity
    operator: str | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def manifest(self) -> Manifest:
        return Manifest(self.folder / MANIFEST_NAME)

    def record(self, type_: EventType, subject: dict[str, Any]) -> ManifestEvent:
        return self.manifest.append(self.identity, type_, subject, self.operator)


def load_case_info(folder: Path) -> CaseInfo:
    path = folder / CASE_FILE
    try:
        return CaseInfo.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise UserError(f"{folder} is not a case folder (no {CASE_FILE})") from None
    except ValueError as exc:
        raise UserError(f"{path} is damaged: {exc.errors()[0]['msg'] if hasattr(exc, 'errors') else exc}") from None


def open_case(
    out_dir: Path, name: str, identity: StationIdentity, operator: str | None = None
) -> Case:
    """Open the case, creating it (case.json + a case-created event) on first use. A station
    new to the case adds its public key to case.json before it signs anything."""
    folder = Path(out_dir) / check_case_name(name)
    folder.mkdir(parents=True, exist_ok=True)
    with _case_lock(folder):
        created = not (folder / CASE_FILE).exists()
        station = StationInfo(
            fingerprint=identity.fingerprint,
            algorithm=ALGORITHM,
            public_key_pem=identity.public_pem,
            first_seen=utc_now(),
        )
        if created:
            info = CaseInfo(name=name, created=station.first_seen, stations=[station])
            atomic_write_model(folder / CASE_FILE, info)
        else:
            info = load_case_info(folder)
            if not any(s.fingerprint == identity.fingerprint for s in info.stations):
                info.stations.append(station)
                atomic_write_model(folder / CASE_FILE, info)
        case = Case(folder, info, identity, operator)
        if created:
            case.record(
                EventType.CASE_CREATED,
                {"case": name, "station": identity.fingerprint, "algorithm": ALGORITHM},
            )
    return case
