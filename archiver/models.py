"""What is written to disk, as pydantic models. Documented in docs/capture-format.md."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .platforms.models import PostOutcome

PROVENANCE_FORMAT = "archiver.provenance/1"


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaptureState(str, enum.Enum):
    COMPLETE = "complete"  # everything the limits allowed was recorded
    PARTIAL = "partial"  # a limit cut something: see limits_hit
    FAILED = "failed"  # the page could not be loaded: see failure
    LOGIN_REQUIRED = "login-required"  # a login wall hid the content: see login_required


class RedirectHop(Model):
    url: str
    status: int
    location: str | None = None


class LimitHit(Model):
    limit: str  # the setting's name, e.g. "network_idle_timeout"
    detail: str


class FailedRequest(Model):
    url: str
    method: str = "GET"
    error: str  # net::ERR_... or our reason
    blocked: bool = False  # refused by us (netguard) or by the browser
    target: str = "page"


class DialogEvent(Model):
    type: str
    message: str
    action: str = "dismissed"
    url: str | None = None


class PopupEvent(Model):
    url: str
    action: str = "closed"


class DownloadEvent(Model):
    url: str
    suggested_filename: str
    size: int | None
    recorded: bool
    note: str | None = None


class TLSInfo(Model):
    origin: str
    protocol: str | None = None
    cipher: str | None = None
    key_exchange: str | None = None
    subject: str | None = None
    issuer: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    san: list[str] = Field(default_factory=list)
    certificate_chain_pem: list[str] = Field(default_factory=list)


class StepRecord(Model):
    """One step of the page load, as data: what ran, how long, what came of it."""

    name: str
    started: datetime
    duration_ms: int
    outcome: str  # ok, timeout, skipped, error
    detail: str | None = None


class BehaviourRecord(Model):
    """One page behaviour that ran during the load, and what it did."""

    name: str
    rounds: int
    actions: list[str] = Field(default_factory=list)  # what it clicked/closed/expanded, in order
    outcome: str  # ok, timeout, error
    detail: str | None = None
    duration_ms: int = 0


class ProfileUse(Model):
    """A logged-in capture: which saved profile the browser started with (never its secrets)."""

    name: str
    saved: datetime | None = None
    cookies: int = 0  # how many cookies it held (their values are not written anywhere)
    redacted: int = 0  # secret values replaced in the WARC (cookies, Authorization, token fields; capture/redact.py)
    redacted_bodies: list[str] = Field(default_factory=list)  # "response <url> (refreshJwt, ...)": bodies changed
    updated: bool = False  # the session the site refreshed during the capture was saved back to the profile


class Attachment(Model):
    kind: str  # screenshot-full, screenshot-viewport, dom, pdf
    path: str  # relative to the capture folder
    media_type: str
    size: int
    sha256: str
    warc_uri: str  # the resource record's WARC-Target-URI
    note: str | None = None


class Software(Model):
    name: str
    version: str
    python: str
    playwright: str
    browser: str
    browser_executable: str
    browser_flags: list[str]
    user_agent: str
    os: str


class WarcSummary(Model):
    path: str
    records: int
    exchanges: int
    responses: int
    bytes_recorded: int  # response bodies received, after limits
    truncated_bodies: int  # cut by our size limits
    incomplete_bodies: int = 0  # any response whose body is not in the WARC whole (see warnings)
    revisits: int = 0  # responses written as revisit records (identical payload seen before)
    bytes_deduplicated: int = 0  # body bytes not stored again thanks to revisits


class Provenance(Model):
    format: str = PROVENANCE_FORMAT
    capture_id: str
    case: str
    requested_url: str
    final_url: str | None = None
    page_url: str | None = None  # the page's URL when the DOM was snapshotted (after a consent click, pushState)
    redirect_chain: list[RedirectHop] = Field(default_factory=list)
    http_status: int | None = None
    title: str | None = None
    state: CaptureState
    failure: str | None = None
    limits_hit: list[LimitHit] = Field(default_factory=list)
    started: datetime
    ended: datetime
    server_ip: str | None = None
    server_port: int | None = None
    protocol: str | None = None
    tls: list[TLSInfo] = Field(default_factory=list)
    software: Software
    viewport: dict[str, int]
    options: dict[str, Any]
    steps: list[StepRecord] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)
    warc: WarcSummary | None = None
    failed_requests: list[FailedRequest] = Field(default_factory=list)
    dialogs: list[DialogEvent] = Field(default_factory=list)
    popups: list[PopupEvent] = Field(default_factory=list)
    downloads: list[DownloadEvent] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    behaviours: list[BehaviourRecord] = Field(default_factory=list)
    profile: ProfileUse | None = None
    login_required: str | None = None  # why the page looks like a login wall
    post: PostOutcome | None = None  # what post extraction found (post.json, post.png)


# -- sealing: the case, its manifest, the artifacts of a sealed item --------------------------

CASE_FORMAT = "archiver.case/1"
ZERO_HASH = "0" * 64


class EventType(str, enum.Enum):
    CASE_CREATED = "case-created"
    CAPTURE_SEALED = "capture-sealed"
    FILE_IMPORTED = "file-imported"
    TIMESTAMP_ADDED = "timestamp-added"
    EXPORT_MADE = "export-made"
    VERIFICATION_RUN = "verification-run"
    NOTE_ADDED = "note-added"


class Artifact(Model):
    """One file of a sealed item. `seal.json` is the canonical JSON of the list of these."""

    path: str  # relative to the item folder, '/'-separated
    size: int
    sha256: str
    media_type: str
    phash: str | None = None  # imagehash pHash (hex) for images


class Actor(Model):
    station: str  # fingerprint of the station key that signed the event
    operator: str | None = None


class ManifestEvent(Model):
    """One line of manifest.jsonl. `sig` signs the canonical JSON of every other field;
    `prev` is the SHA-256 of the previous line's exact bytes (without its newline)."""

    seq: int
    time: str  # UTC, ISO 8601 with milliseconds and Z
    type: EventType
    subject: dict[str, Any]
    actor: Actor
    prev: str
    sig: str = ""


class StationInfo(Model):
    fingerprint: str
    algorithm: str
    public_key_pem: str
    first_seen: str


class CaseInfo(Model):
    """case.json: what the case is and which stations' keys sign its manifest."""

    format: str = CASE_FORMAT
    name: str
    created: str
    stations: list[StationInfo]


class ImportMetadata(Model):
    """metadata.json of an imported file (a phone screenshot, a screen recording)."""

    original_name: str
    stored_as: str
    size: int
    sha256: str
    media_type: str
    phash: str | None = None
    imported: str
    source_url: str | None = None
    note: str | None = None
    operator: str | None = None
    file_mtime: str | None = None
    exif: dict[str, str] = Field(default_factory=dict)
