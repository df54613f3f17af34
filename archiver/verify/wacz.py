"""verify FILE.wacz: everything in a WACZ we exported, offline, stricter than `wacz validate`.

1. The zip reads; no member twice, no member outside the datapackage (but the two
   datapackage files), every listed resource present with its sha256 and size;
   `archive/` members stored (not deflated), as WACZ requires.
2. `datapackage-digest.json`: its hash is the SHA-256 of `datapackage.json`; its
   `signedData` (anonymous form: ECDSA P-384 / SHA-256 over the `hash` string, IEEE P1363
   signature, base64 SPKI public key, as ReplayWeb.page checks it) verifies, `created` is
   the datapackage's, and the key is a station of `evidence/case.json` (the same key as
   `evidence/station.pub.pem`).
3. Every WARC: every record's block and payload digest; every revisit resolves to a
   response inside this WACZ with the same payload.
4. `pages/pages.jsonl`: header, one valid page per line, each page URL in the index.
   The CDXJ index: sorted; every line points (filename, offset, length) at exactly one
   record of that URL (and payload digest) in the named WARC; every response and revisit
   of every WARC is indexed.
5. `evidence/manifest-excerpt.jsonl`: every event whole, in canonical form, in order,
   signed by a station of `evidence/case.json` whose key matches its fingerprint.
6. Each sealed capture of the excerpt: every sealed file present with its sealed size and
   SHA-256 (the WARC in `archive/`, the rest in `evidence/<item>__<file>`); `seal.json`
   hashes to the sealed root hash; `SHA256SUMS` agrees; every timestamp token unchanged,
   issued for the root hash, and chaining to a trusted TSA root at its time.

The layout is the one `archiver.package.wacz` writes (documented there); this module reads
it on its own, importing nothing from the exporting side.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pydantic import ValidationError
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from ..canonical import canonical_bytes
from ..models import Artifact, CaseInfo, EventType, ManifestEvent
from .manifest import ManifestCheck, _signature_ok, _station_keys
from .report import ItemReport, Problem, Status, TimestampSeen, VerifyReport
from .tokens import check_token
from .tsa_roots import pinned_from, trusted_roots
from .warcs import WarcCheck, check_warc

DATAPACKAGE = "datapackage.json"
DIGEST = "datapackage-digest.json"
PAGES = "pages/pages.jsonl"
CASE = "evidence/case.json"
EXCERPT = "evidence/manifest-excerpt.jsonl"
STATION_KEY = "evidence/station.pub.pem"
WARC_TYPE = "application/warc"
MAIN_WARC = "archive.warc.gz"
SEP = "__"
CHUNK = 1 << 20
WACZ_VERSION = "1.1.1"
ANONYMOUS_KEYS = {"hash", "created", "software", "version", "signature", "publicKey"}
KEEP_SUFFIXES = (".json", ".jsonl", ".cdx", ".cdxj", ".pem", ".tsr", "SHA256SUMS")
INDEXED_TYPES = ("response", "revisit")
EXCERPT_TYPES = (EventType.CASE_CREATED, EventType.CAPTURE_SEALED, EventType.TIMESTAMP_ADDED)


def _warc_member(item_name: str, relpath: str) -> str:
    if relpath == MAIN_WARC:
        return f"archive/{item_name}.warc.gz"
    return f"archive/{item_name}{SEP}{relpath.replace('/', SEP)}"


def _evidence_member(item_name: str, relpath: str) -> str:
    return f"evidence/{item_name}{SEP}{relpath.replace('/', SEP)}"


@dataclass
class _Facts:
    sha256: str | None = None  # None: could not be read
    size: int = 0
    data: bytes | None = None  # kept for the small files we read
    warc: Path | None = None  # extracted WARC
    error: str | None = None


@dataclass
class _Item:
    report: ItemReport
    name: str
    artifacts: list[Artifact]
    tokens: list[dict] = field(default_factory=list)
    members: set[str] = field(default_factory=set)


def verify_wacz(path: Path, tsa_roots: list[Path]) -> VerifyReport:
    path = Path(path).resolve()
    report = VerifyReport(target=str(path))
    roots = trusted_roots(list(tsa_roots or []))
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        report.case_problems.append(Problem(file=path.name, reason=f"not a readable zip file: {exc}"))
        return report
    tmp = Path(tempfile.mkdtemp(prefix="archiver-wacz-"))
    try:
        with archive:
            _Check(archive, tmp, roots, report).run()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report


class _Check:
    def __init__(self, archive: zipfile.ZipFile, tmp: Path, roots: list[x509.Certificate], report: VerifyReport):
        self.zip = archive
        self.tmp = tmp
        self.roots = roots
        self.report = report
        self.facts: dict[str, _Facts] = {}
        self.items: list[_Item] = []
        self.owner: dict[str, _Item] = {}  # member -> the item it belongs to
        self.index_urls: set[str] = set()

    # -- reporting --------------------------------------------------------------------------

    def problem(self, member: str, reason: str) -> None:
        item = self.owner.get(member)
        if item is not None:
            item.report.fail(member, reason)
        else:
            self.report.case_problems.append(Problem(file=member, reason=reason))

    def note(self, text: str) -> None:
        self.report.case_notes.append(text)

    # -- the whole run ----------------------------------------------------------------------

    def run(self) -> None:
        self._read_members()
        package = self._datapackage()
        info, keys = self._case()
        self._signature(package, info)
        events = self._excerpt(keys)
        self._items_from(events)
        for member, facts in sorted(self.facts.items()):
            if facts.error:  # once, and to its capture when it has one
                self.problem(member, facts.error)
        if package is not None:
            self._resources(package)
        self._warcs()
        self._index()
        self._pages()
        self._check_items()

    def _read_members(self) -> None:
        seen: set[str] = set()
        for info in self.zip.infolist():
            name = info.filename
            if name in seen:
                self.problem(name, "appears twice in the zip")
                continue
            seen.add(name)
            if info.is_dir():
                continue
            if name.startswith("/") or ".." in name.split("/"):
                self.problem(name, "unsafe member name")
                continue
            facts = _Facts()
            self.facts[name] = facts
            is_warc = name.startswith("archive/")
            keep = name.endswith(KEEP_SUFFIXES) and not is_warc
            digest = hashlib.sha256()
            buffer = io.BytesIO() if keep else None
            target = None
            if is_warc:
                facts.warc = self.tmp / f"{len(self.facts)}.warc{'.gz' if name.endswith('.gz') else ''}"
                target = open(facts.warc, "wb")
            try:
                with self.zip.open(info) as src:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        facts.size += len(chunk)
                        if buffer is not None:
                            buffer.write(chunk)
                        if target is not None:
                            target.write(chunk)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
                facts.error = f"cannot be read from the zip: {exc}"
                facts.warc = None
                continue
            finally:
                if target is not None:
                    target.close()
            facts.sha256 = digest.hexdigest()
            if buffer is not None:
                facts.data = buffer.getvalue()
            if is_warc and info.compress_type != zipfile.ZIP_STORED:
                self.problem(name, "deflated in the zip: WACZ stores archive/ files uncompressed (STORE)")

    def _json(self, member: str, required: bool = True) -> object | None:
        facts = self.facts.get(member)
        if facts is None:
            if required:
                self.problem(member, "missing from the WACZ")
            return None
        if facts.error:
            return None  # reported in run()
        try:
            return json.loads(facts.data or b"")
        except ValueError:
            self.problem(member, "not valid JSON (changed or damaged)")
            return None

    # -- datapackage, digest, signature ------------------------------------------------------

    def _datapackage(self) -> dict | None:
        package = self._json(DATAPACKAGE)
        digest = self._json(DIGEST)
        if package is not None and not isinstance(package, dict):
            self.problem(DATAPACKAGE, "not a JSON object")
            package = None
        if isinstance(package, dict):
            if package.get("profile") != "data-package":
                self.problem(DATAPACKAGE, f"profile is {package.get('profile')!r}, not 'data-package'")
            if package.get("wacz_version") != WACZ_VERSION:
                self.problem(DATAPACKAGE, f"wacz_version is {package.get('wacz_version')!r}, not {WACZ_VERSION!r}")
            if not isinstance(package.get("resources"), list):
                self.problem(DATAPACKAGE, "no resources list")
                package = None
        self.digest = digest if isinstance(digest, dict) else None
        if digest is not None and self.digest is None:
            self.problem(DIGEST, "not a JSON object")
        if self.digest is not None:
            if self.digest.get("path") != DATAPACKAGE:
                self.problem(DIGEST, f"path is {self.digest.get('path')!r}, not {DATAPACKAGE!r}")
            facts = self.facts.get(DATAPACKAGE)
            if facts is not None and facts.sha256 is not None and self.digest.get("hash") != f"sha256:{facts.sha256}":
                self.problem(DATAPACKAGE, f"changed: its SHA-256 is not the hash in {DIGEST}")
        return package

    def _signature(self, package: dict | None, info: CaseInfo | None) -> None:
        if self.digest is None:
            return
        signed = self.digest.get("signedData")
        if not isinstance(signed, dict):
            self.problem(DIGEST, "not signed (no signedData)")
            return
        extra = set(signed) - ANONYMOUS_KEYS
        if extra:
            self.problem(DIGEST, f"signedData has fields outside the anonymous form: {', '.join(sorted(extra))}")
        if signed.get("hash") != self.digest.get("hash"):
            self.problem(DIGEST, "signedData.hash is not the datapackage hash")
        if package is not None and signed.get("created") != package.get("created"):
            self.problem(DIGEST, "signedData.created is not the datapackage's created time")
        try:
            spki = base64.b64decode(str(signed.get("publicKey", "")), validate=True)
            key = serialization.load_der_public_key(spki)
            if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp384r1":
                raise ValueError("not an ECDSA P-384 key")
        except (ValueError, TypeError) as exc:
            self.problem(DIGEST, f"signedData.publicKey is not a base64 P-384 public key ({exc})")
            return
        fingerprint = hashlib.sha256(spki).hexdigest()
        try:
            raw = base64.b64decode(str(signed.get("signature", "")), validate=True)
        except ValueError:
            raw = b""
        width = (key.curve.key_size + 7) // 8
        valid = False
        if len(raw) == 2 * width:
            der = encode_dss_signature(int.from_bytes(raw[:width], "big"), int.from_bytes(raw[width:], "big"))
            try:
                key.verify(der, str(signed.get("hash", "")).encode("utf-8"), ec.ECDSA(hashes.SHA256()))
                valid = True
            except InvalidSignature:
                pass
        if not valid:
            self.problem(DIGEST, "the signature does not verify (datapackage-digest.json or its signedData changed)")
            return
        stations = {s.fingerprint for s in info.stations} if info else set()
        if fingerprint in stations:
            self.note(f"WACZ signed by station {fingerprint}, a station of case {info.name}")
        else:
            self.problem(DIGEST, f"signed by key {fingerprint[:16]}…, which is not a station of evidence/case.json")
        self._station_pem(key)

    def _station_pem(self, key: ec.EllipticCurvePublicKey) -> None:
        facts = self.facts.get(STATION_KEY)
        if facts is None:
            self.problem(STATION_KEY, "missing from the WACZ")
            return
        if facts.error:
            return  # reported in run()
        try:
            pem_key = serialization.load_pem_public_key(facts.data or b"")
        except (ValueError, TypeError):
            self.problem(STATION_KEY, "not a PEM public key (changed or damaged)")
            return
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if pem_key.public_bytes(*spki) != key.public_bytes(*spki):
            self.problem(STATION_KEY, "not the key that signed the WACZ")

    # -- case.json and the manifest excerpt ---------------------------------------------------

    def _case(self) -> tuple[CaseInfo | None, dict]:
        facts = self.facts.get(CASE)
        if facts is None or facts.data is None:
            if facts is None:
                self.problem(CASE, "missing from the WACZ")
            return None, {}
        try:
            info = CaseInfo.model_validate_json(facts.data)
        except (ValidationError, ValueError):
            self.problem(CASE, "damaged: not a case file")
            return None, {}
        self.report.case = info.name
        self.report.stations = [s.fingerprint for s in info.stations]
        check = ManifestCheck()
        keys = _station_keys(info, check)
        for problem in check.problems:
            self.problem(CASE, problem.reason)
        return info, keys

    def _excerpt(self, keys: dict) -> list[ManifestEvent]:
        facts = self.facts.get(EXCERPT)
        if facts is None or facts.data is None:
            if facts is None:
                self.problem(EXCERPT, "missing from the WACZ")
            return []
        lines = facts.data.split(b"\n")
        if lines[-1]:
            self.problem(EXCERPT, f"line {len(lines)}: incomplete (no newline at the end)")
        events = []
        last_seq = 0
        for number, raw in enumerate(lines[:-1], 1):
            try:
                event = ManifestEvent.model_validate_json(raw)
            except (ValidationError, ValueError):
                self.problem(EXCERPT, f"line {number}: not a valid event (changed or damaged)")
                continue
            if raw != canonical_bytes(event.model_dump(mode="json")):
                self.problem(EXCERPT, f"line {number}: not in canonical form (edited)")
            if event.seq <= last_seq:
                self.problem(EXCERPT, f"line {number}: seq {event.seq} after {last_seq} (lines reordered)")
            last_seq = event.seq
            key = keys.get(event.actor.station)
            if key is None:
                self.problem(EXCERPT, f"line {number}: signed by station {event.actor.station[:16]}…, which case.json does not list")
            elif not _signature_ok(key, event):
                self.problem(EXCERPT, f"line {number}: signature does not verify (event changed after signing)")
            if event.type not in EXCERPT_TYPES:
                self.note(f"{EXCERPT} line {number}: a {event.type.value} event (not needed here)")
            events.append(event)
        self.report.manifest_events = len(events)
        self.note(f"{EXCERPT}: {len(events)} signed events; the whole chain of custody is the case's manifest.jsonl, not in the WACZ")
        return events

    def _items_from(self, events: list[ManifestEvent]) -> None:
        by_path: dict[str, _Item] = {}
        for event in events:
            subject = event.subject
            rel = str(subject.get("path", ""))
            if event.type == EventType.CAPTURE_SEALED:
                try:
                    artifacts = [Artifact.model_validate(a) for a in subject.get("artifacts", [])]
                except ValidationError:
                    self.problem(EXCERPT, f"event {event.seq}: malformed artifact list")
                    continue
                if rel in by_path:
                    self.problem(EXCERPT, f"event {event.seq}: {rel} sealed twice")
                    continue
                report = ItemReport(path=rel, kind=str(subject.get("kind", "capture")), url=subject.get("url"), root_hash=str(subject.get("root_hash", "")))
                item = _Item(report, rel.rsplit("/", 1)[-1], artifacts)
                by_path[rel] = item
                self.items.append(item)
                self.report.items.append(report)
                for artifact in artifacts:
                    item.members.add(self._artifact_member(item, artifact))
                item.members |= {_evidence_member(item.name, "seal.json"), _evidence_member(item.name, "SHA256SUMS")}
            elif event.type == EventType.TIMESTAMP_ADDED:
                item = by_path.get(rel)
                if item is None:
                    self.problem(EXCERPT, f"event {event.seq}: timestamp for {rel}, which is not sealed before it")
                    continue
                item.tokens.append(subject)
                for key in ("token", "chain"):
                    if subject.get(key):
                        item.members.add(_evidence_member(item.name, str(subject[key])))
        for item in self.items:
            for member in item.members:
                self.owner[member] = item
        if not self.items:
            self.problem(EXCERPT, "no sealed capture in the manifest excerpt")

    @staticmethod
    def _artifact_member(item: _Item, artifact: Artifact) -> str:
        if artifact.media_type == WARC_TYPE:
            return _warc_member(item.name, artifact.path)
        return _evidence_member(item.name, artifact.path)

    # -- resources ---------------------------------------------------------------------------

    def _resources(self, package: dict) -> None:
        listed: set[str] = set()
        for number, resource in enumerate(package["resources"], 1):
            if not isinstance(resource, dict) or not isinstance(resource.get("path"), str):
                self.problem(DATAPACKAGE, f"resource {number} has no path")
                continue
            member = resource["path"]
            if member in listed:
                self.problem(DATAPACKAGE, f"{member} listed twice")
            listed.add(member)
            if not resource.get("name"):
                self.problem(DATAPACKAGE, f"{member}: resource without a name")
            facts = self.facts.get(member)
            if facts is None:
                self.problem(member, "listed in datapackage.json but missing from the zip")
                continue
            if facts.error:
                continue  # reported in run()
            if resource.get("bytes") != facts.size:
                self.problem(member, f"changed: {facts.size} bytes, datapackage.json says {resource.get('bytes')}")
            elif resource.get("hash") != f"sha256:{facts.sha256}":
                self.problem(member, "changed: SHA-256 differs from the one in datapackage.json")
        for member in sorted(self.facts):
            if member in (DATAPACKAGE, DIGEST) or member in listed:
                continue
            self.problem(member, "in the zip but not listed in datapackage.json (added after export?)")
        known = {DATAPACKAGE, DIGEST, PAGES, CASE, EXCERPT, STATION_KEY} | set(self.owner)
        for member in sorted(self.facts):
            if member in known or member.startswith("indexes/"):
                continue
            if member.startswith(("archive/", "evidence/")):
                self.problem(member, "belongs to no sealed capture of the manifest excerpt")

    # -- WARCs, index, pages -----------------------------------------------------------------

    def _warcs(self) -> None:
        self.warc_checks: dict[str, WarcCheck] = {}
        originals: dict[str, str] = {}
        for member, facts in sorted(self.facts.items()):
            if not member.startswith("archive/") or facts.warc is None:
                continue
            result = check_warc(facts.warc)
            self.warc_checks[member] = result
            originals.update(result.originals)
            item = self.owner.get(member)
            if item is not None:
                item.report.warc_records += result.records
            for problem in result.problems:
                self.problem(member, problem)
        for member, result in self.warc_checks.items():
            for uri, refers_to, digest in result.revisits:
                if originals.get(refers_to) != digest:
                    self.problem(member, f"revisit of {uri} points to {refers_to}, which is no response in this WACZ with the same payload")

    def _index(self) -> None:
        indexes = sorted(m for m in self.facts if m.startswith("indexes/") and m.endswith((".cdx", ".cdxj")))
        if not indexes:
            self.problem("indexes/", "no CDXJ index (indexes/*.cdx or *.cdxj)")
            return
        indexed: dict[str, set[int]] = {}
        handles: dict[str, object] = {}
        try:
            for member in indexes:
                facts = self.facts[member]
                if facts.data is None:
                    continue  # unreadable: reported in run()
                text = facts.data.decode("utf-8", errors="replace")
                lines = [line for line in text.split("\n") if line]
                if lines != sorted(lines):
                    self.problem(member, "not sorted (replay tools binary-search it)")
                for number, line in enumerate(lines, 1):
                    self._index_line(member, number, line, indexed, handles)
        finally:
            for fh in handles.values():
                fh.close()  # type: ignore[attr-defined]
        for member, facts in sorted(self.facts.items()):
            if not member.startswith("archive/") or facts.warc is None:
                continue
            for offset, kind, uri in _records(facts.warc):
                if kind in INDEXED_TYPES and offset not in indexed.get(member, set()):
                    self.problem(member, f"{kind} record of {uri} at offset {offset} is not in the index (it would not replay)")

    def _index_line(self, member: str, number: int, line: str, indexed: dict[str, set[int]], handles: dict) -> None:
        where = f"line {number}"
        parts = line.split(" ", 2)
        try:
            fields = json.loads(parts[2]) if len(parts) == 3 else None
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            self.problem(member, f"{where}: not a CDXJ line")
            return
        url = fields.get("url")
        try:
            offset, length = int(fields.get("offset")), int(fields.get("length"))
        except (TypeError, ValueError):
            self.problem(member, f"{where}: no offset/length")
            return
        warc = f"archive/{fields.get('filename')}"
        facts = self.facts.get(warc)
        if facts is None or facts.warc is None:
            self.problem(member, f"{where}: names {warc}, which is not a readable WARC of this WACZ")
            return
        if isinstance(url, str):
            self.index_urls.add(url)
        if offset < 0 or length <= 0 or offset + length > facts.size:
            self.problem(member, f"{where}: offset {offset} + length {length} is outside {warc}")
            return
        fh = handles.get(warc)
        if fh is None:
            fh = handles[warc] = open(facts.warc, "rb")
        fh.seek(offset)
        chunk = fh.read(length)
        try:
            iterator = ArchiveIterator(io.BytesIO(chunk))
            record = next(iterator)
            headers = record.rec_headers
            target = headers.get_header("WARC-Target-URI")
            payload = headers.get_header("WARC-Payload-Digest")
            record.content_stream().read()
            rest = next(iterator, None)
        except (ArchiveLoadFailed, OSError, EOFError, ValueError, KeyError, StopIteration, zlib.error):
            self.problem(member, f"{where}: offset {offset}, length {length} in {warc} is not one whole WARC record")
            return
        if rest is not None:
            self.problem(member, f"{where}: offset {offset}, length {length} in {warc} holds more than one record")
        if target != url:
            self.problem(member, f"{where}: the record at offset {offset} in {warc} is for {target}, not {url}")
        elif fields.get("digest") and payload and fields["digest"] != payload:
            self.problem(member, f"{where}: payload digest differs from the record's")
        indexed.setdefault(warc, set()).add(offset)

    def _pages(self) -> None:
        facts = self.facts.get(PAGES)
        if facts is None or facts.data is None:
            if facts is None:
                self.problem(PAGES, "missing from the WACZ")
            return
        lines = [line for line in facts.data.split(b"\n") if line.strip()]
        try:
            header = json.loads(lines[0]) if lines else None
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("format") != "json-pages-1.0" or not header.get("id"):
            self.problem(PAGES, 'line 1: not a pages header ({"format": "json-pages-1.0", "id": ...})')
        if len(lines) < 2:
            self.problem(PAGES, "lists no page")
        for number, raw in enumerate(lines[1:], 2):
            try:
                page = json.loads(raw)
            except ValueError:
                page = None
            if not isinstance(page, dict) or not isinstance(page.get("url"), str) or not isinstance(page.get("ts"), str):
                self.problem(PAGES, f"line {number}: not a page (url and ts required)")
                continue
            try:
                datetime.fromisoformat(page["ts"].replace("Z", "+00:00"))
            except ValueError:
                self.problem(PAGES, f"line {number}: ts {page['ts']!r} is not an RFC 3339 date-time")
            if page["url"] not in self.index_urls:
                self.problem(PAGES, f"line {number}: {page['url']} is not in the index (the page would not replay)")

    # -- the sealed captures ----------------------------------------------------------------

    def _check_items(self) -> None:
        for item in self.items:
            report = item.report
            root = report.root_hash or ""
            expected = canonical_bytes([a.model_dump(mode="json") for a in item.artifacts])
            if hashlib.sha256(expected).hexdigest() != root:
                report.fail(EXCERPT, f"{report.path}: the artifact list does not hash to its root hash")
            seal = _evidence_member(item.name, "seal.json")
            facts = self.facts.get(seal)
            if facts is None:
                report.fail(seal, "missing from the WACZ")
            elif facts.sha256 != root:
                report.fail(seal, "changed: its SHA-256 is not the sealed root hash")
            sums = _evidence_member(item.name, "SHA256SUMS")
            facts = self.facts.get(sums)
            text = "".join(f"{a.sha256}  {a.path}\n" for a in item.artifacts).encode()
            if facts is None:
                report.fail(sums, "missing from the WACZ")
            elif facts.data != text:
                report.fail(sums, "does not match the sealed artifact list")
            for artifact in item.artifacts:
                member = self._artifact_member(item, artifact)
                facts = self.facts.get(member)
                if facts is None:
                    report.fail(member, f"missing from the WACZ (sealed as {artifact.path})")
                    continue
                if facts.sha256 is None:
                    continue  # already reported as unreadable
                report.files_checked += 1
                report.bytes_checked += facts.size
                if facts.size != artifact.size:
                    report.fail(member, f"changed: {facts.size} bytes, sealed with {artifact.size}")
                elif facts.sha256 != artifact.sha256:
                    report.fail(member, "changed: SHA-256 differs from the sealed one")
            self._tokens(item)
            if report.status == Status.PASS and not any(t.ok for t in report.timestamps):
                report.status = Status.PENDING
                report.notes.append("no trusted timestamp in the WACZ")

    def _tokens(self, item: _Item) -> None:
        report = item.report
        for subject in item.tokens:
            token_rel = str(subject.get("token", ""))
            member = _evidence_member(item.name, token_rel)
            seen = TimestampSeen(tsa=str(subject.get("tsa", "")), gen_time=subject.get("gen_time"), token=member, ok=False)
            report.timestamps.append(seen)
            facts = self.facts.get(member)
            if facts is None:
                report.fail(member, "timestamp token missing from the WACZ")
                continue
            if facts.data is None:
                continue  # unreadable: reported in run()
            if facts.sha256 != subject.get("token_sha256"):
                report.fail(member, "timestamp token changed since it was recorded")
                continue
            if subject.get("root_hash") != report.root_hash:
                report.fail(member, "timestamp recorded for a different root hash")
                continue
            chain_facts = self.facts.get(_evidence_member(item.name, str(subject.get("chain", ""))))
            chain = _load_chain(chain_facts.data if chain_facts else None)
            result = check_token(facts.data, report.root_hash or "", self.roots + pinned_from(chain), chain)
            if not result.ok:
                reason = result.reason or "timestamp does not verify"
                if "trusted root" in reason:
                    reason += " (if you trust this TSA, give its root with --tsa-root FILE.pem)"
                report.fail(member, reason)
                continue
            seen.ok = True
            seen.gen_time = result.gen_time or seen.gen_time


def _records(path: Path) -> list[tuple[int, str, str]]:
    """(offset, type, target URI) of every record; stops quietly at damage (check_warc
    reports it)."""
    out = []
    try:
        with open(path, "rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                out.append((records.get_record_offset(), record.rec_type, record.rec_headers.get_header("WARC-Target-URI") or ""))
    except (ArchiveLoadFailed, OSError, EOFError, ValueError, zlib.error):
        pass  # damage: check_warc reports it
    return out


def _load_chain(data: bytes | None) -> list[x509.Certificate]:
    if not data:
        return []
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        return []
