"""What verify found, as data (printed as a table, or as JSON with --json)."""

from __future__ import annotations

import enum

from pydantic import BaseModel, Field


class Status(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    PENDING = "PENDING"  # sealed and intact, but no trusted timestamp yet
    INCOMPLETE = "INCOMPLETE"  # an interrupted capture or seal: never sealed evidence


class Problem(BaseModel):
    file: str  # relative to the case folder ('' for the case as a whole)
    reason: str


class TimestampSeen(BaseModel):
    tsa: str
    gen_time: str | None
    token: str
    ok: bool


class ItemReport(BaseModel):
    path: str
    kind: str  # capture, import, unknown
    url: str | None = None
    root_hash: str | None = None
    status: Status = Status.PASS
    files_checked: int = 0
    bytes_checked: int = 0
    warc_records: int = 0
    timestamps: list[TimestampSeen] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def fail(self, file: str, reason: str) -> None:
        self.problems.append(Problem(file=file, reason=reason))
        self.status = Status.FAIL


class VerifyReport(BaseModel):
    target: str
    case: str | None = None
    manifest_events: int = 0
    stations: list[str] = Field(default_factory=list)
    case_problems: list[Problem] = Field(default_factory=list)
    case_notes: list[str] = Field(default_factory=list)
    items: list[ItemReport] = Field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for item in self.items:
            out[item.status.value] += 1
        return out

    def passed(self, strict: bool = False) -> bool:
        if self.case_problems:
            return False
        bad = {Status.FAIL} | ({Status.PENDING, Status.INCOMPLETE} if strict else set())
        return not any(item.status in bad for item in self.items)
