"""Export sealed captures of a case as one signed WACZ 1.1.1 file.

ReplayWeb.page and pywb (`wb-manager add --unpack-wacz`) replay it; `wacz validate` accepts
it; `archiver verify FILE.wacz` checks everything in it, offline. Layout (every member is
`<folder>/<file>`, no deeper, and no folder name holds a dot: `wacz validate` (py-wacz
0.5/0.6) rejects any other layout, reporting deeper files as "not listed in the datapackage"):

    archive/<item>.warc.gz          each capture's WARC, byte for byte as sealed, ZIP_STORED
                                    (plus the WARCs its revisit records point into)
    indexes/index.cdx               CDXJ, sorted (named .cdx: pywb's --unpack-wacz and
                                    ReplayWeb.page's verification only look at .cdx/.idx)
    pages/pages.jsonl               one page per exported capture, with its visible text
    evidence/case.json              the case file, byte for byte
    evidence/manifest-excerpt.jsonl the exact manifest lines: case-created, and for every
                                    item in the file its capture-sealed and timestamp-added
                                    events (each signed by a station of case.json)
    evidence/station.pub.pem        the public key of the station that signed this WACZ
    evidence/<item>__<file>         the item's other sealed files (screenshots, dom.html,
                                    page.pdf, provenance.json), seal.json, SHA256SUMS and
                                    its timestamps (`<item>__timestamps__<tsa>.tsr`,
                                    `.chain.pem`): the item's own path with `/` -> `__`
    datapackage.json                every member above with sha256 and size
    datapackage-digest.json         sha256 of datapackage.json, signed (`signedData`)

`signedData` is the anonymous form of the WACZ signing spec (specs.webrecorder.net,
wacz-auth 0.1.0, "Anonymous Signature"), made the way ArchiveWeb.page makes it and
ReplayWeb.page checks it (wabac.js `src/wacz/certutils.ts` `verifyWACZSignature`): WebCrypto
ECDSA on P-384 with SHA-256 over the UTF-8 bytes of the `hash` string
(`"sha256:<hex>"`), the signature as IEEE P1363 `r || s` (96 bytes), base64; `publicKey`
the base64 DER SubjectPublicKeyInfo. The station key that signs the manifest signs it
(the manifest itself uses SHA-384 and DER signatures; the WACZ form is fixed by the readers).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from ..errors import UserError
from ..models import Artifact, CaseInfo, EventType, ManifestEvent
from ..seal.identity import StationIdentity
from ..storage.atomic import fsync_dir, temp_path
from ..storage.digest import sha256_file

WACZ_VERSION = "1.1.1"
DATAPACKAGE = "datapackage.json"
DIGEST = "datapackage-digest.json"
INDEX_MEMBER = "indexes/index.cdx"
PAGES_MEMBER = "pages/pages.jsonl"
CASE_MEMBER = "evidence/case.json"
EXCERPT_MEMBER = "evidence/manifest-excerpt.jsonl"
STATION_KEY_MEMBER = "evidence/station.pub.pem"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
WARC_TYPE = "application/warc"
MAIN_WARC = "archive.warc.gz"  # a capture's WARC inside its folder
SEP = "__"  # item name / file path separator in evidence/
CHUNK = 1 << 20
# Already compressed, or read by range (archive/): stored; everything else deflated.
STORED_SUFFIXES = (".gz", ".png", ".jpg", ".jpeg", ".webp", ".gif", ".pdf", ".mp4", ".webm", ".tsr", ".zip")


def warc_member(item_name: str, relpath: str = MAIN_WARC) -> str:
    """Where an item's WARC goes in the zip."""
    if relpath == MAIN_WARC:
        return f"archive/{item_name}.warc.gz"
    return f"archive/{item_name}{SEP}{relpath.replace('/', SEP)}"


def evidence_member(item_name: str, relpath: str) -> str:
    """Where an item's other file (relative to its folder) goes in the zip."""
    return f"evidence/{item_name}{SEP}{relpath.replace('/', SEP)}"


@dataclass
class WaczSummary:
    path: Path
    sha256: str
    size: int
    created: str
    items: list[str]  # the captures asked for (one page each)
    referenced: list[str]  # other captures included because revisits point into their WARCs
    pages: int
    index_lines: int
    resources: int
    station: str  # fingerprint of the key that signed datapackage-digest.json
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Item:
    path: str  # relative to the case folder
    name: str  # the folder name
    folder: Path
    event: ManifestEvent
    artifacts: list[Artifact]
    tokens: list[ManifestEvent] = field(default_factory=list)
    requested: bool = True

    @property
    def root_hash(self) -> str:
        return str(self.event.subject.get("root_hash", ""))


@dataclass
class _Member:
    name: str  # path inside the zip
    source: Path | None = None  # a file, copied byte for byte
    data: bytes | None = None  # or bytes made here
    sha256: str | None = None  # expected (sealed) sha256 of a copied file
    size: int | None = None


def export_wacz(
    case_dir: Path,
    items: list[str],
    out: Path,
    identity: StationIdentity,
    software: str,
    force: bool = False,
    title: str | None = None,
) -> WaczSummary:
    """Write `out` (a .wacz) holding the sealed captures `items` (paths relative to the
    case folder, as in manifest events) and every capture their revisits point into.

    Refuses (UserError) an item that is not a sealed capture of the case, a file that no
    longer matches its seal, a revisit that no sealed capture of the case can resolve, a
    station that is not in case.json, and an existing `out` unless `force`."""
    case_dir = Path(case_dir).resolve()
    out = Path(out)
    if not items:
        raise UserError("nothing to export: name at least one capture")
    if not out.name.lower().endswith(".wacz"):
        raise UserError(f"{out.name}: a WACZ file name must end in .wacz")
    if out.exists() and not force:
        raise UserError(f"{out} already exists", hint="choose another name, or overwrite it with --force")
    if not out.parent.is_dir():
        raise UserError(f"{out.parent} is not a folder")

    case_bytes, info = _read_case(case_dir)
    if not any(s.fingerprint == identity.fingerprint for s in info.stations):
        raise UserError(
            f"this station ({identity.fingerprint[:16]}…) is not listed in {case_dir.name}/case.json",
            hint="open the case with this station first (any archiver command on the case registers it)",
        )
    lines, events = _read_manifest(case_dir)
    sealed = _sealed_captures(case_dir, events)

    wanted: list[_Item] = []
    for raw in items:
        rel = _normalise(case_dir, raw)
        item = sealed.get(rel)
        if item is None:
            raise UserError(f"{rel}: not a sealed capture of case {info.name}", hint="see `archiver verify` for what the case holds")
        if item not in wanted:
            wanted.append(item)
    referenced = _referenced_items(wanted, sealed)
    for item in referenced:
        item.requested = False
    chosen = wanted + referenced
    for item in chosen:
        _check_seal_file(item)

    created_dt = datetime.now(timezone.utc)
    created = _iso(created_dt)
    warnings: list[str] = []
    members: list[_Member] = []
    index_lines: list[str] = []
    for item in chosen:
        members.extend(_item_members(item))
        for artifact in item.artifacts:
            if artifact.media_type == WARC_TYPE:
                member = warc_member(item.name, artifact.path)
                index_lines.extend(_index_warc(item.folder / artifact.path, member.split("/", 1)[1]))
    index_lines.sort()
    index_urls = {json.loads(line.split(" ", 2)[2]).get("url") for line in index_lines}

    pages = []
    for item in wanted:
        page = _page(item)
        if page["url"] not in index_urls:
            warnings.append(f"{item.path}: no page entry: its URL {page['url']} has no record in the WARC (a failed capture?)")
            continue
        pages.append(page)
    if not pages:
        raise UserError("none of these captures recorded its page, so the WACZ would have nothing to replay")
    pages_bytes = b"".join(
        json.dumps(p, ensure_ascii=False).encode("utf-8") + b"\n" for p in [PAGES_HEADER, *pages]
    )

    excerpt = _excerpt(lines, events, chosen)
    members = [
        _Member(PAGES_MEMBER, data=pages_bytes),
        _Member(INDEX_MEMBER, data="".join(index_lines).encode("utf-8")),
        *sorted((m for m in members if m.name.startswith("archive/")), key=lambda m: m.name),
        _Member(CASE_MEMBER, data=case_bytes),
        _Member(EXCERPT_MEMBER, data=excerpt),
        _Member(STATION_KEY_MEMBER, data=identity.public_pem.encode("ascii")),
        *sorted((m for m in members if not m.name.startswith("archive/")), key=lambda m: m.name),
    ]
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise UserError("two files would get the same name in the WACZ")

    first = pages[0]
    package: dict[str, Any] = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": title or f"{info.name}: {first['title'] or first['url']}",
        "description": (
            f"Sealed captures of case {info.name}, exported by station {identity.fingerprint}. "
            "Check with: archiver verify FILE.wacz"
        ),
        "created": created,
        "software": software,
        "mainPageUrl": first["url"],
        "mainPageDate": first["ts"],
        "resources": [],
    }

    tmp = temp_path(out)
    try:
        with open(tmp, "xb") as fh:
            with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
                used_names: set[str] = set()
                for member in members:
                    digest, size = _write_member(zf, member, created_dt)
                    resource = {"name": _resource_name(member.name, used_names), "path": member.name, "hash": f"sha256:{digest}", "bytes": size}
                    if member.name.endswith(".json"):
                        # Frictionless (run by `wacz validate`) reads a JSON file with a key
                        # such as "steps" or "fields" as its own metadata and fails it: say
                        # it is a plain file
                        resource["type"] = "file"
                    package["resources"].append(resource)
                package_bytes = json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
                package_hash = "sha256:" + hashlib.sha256(package_bytes).hexdigest()
                digest_doc = {
                    "path": DATAPACKAGE,
                    "hash": package_hash,
                    "signedData": sign_hash(identity, package_hash, created, software),
                }
                _write_member(zf, _Member(DATAPACKAGE, data=package_bytes), created_dt)
                _write_member(zf, _Member(DIGEST, data=json.dumps(digest_doc, indent=2).encode("utf-8")), created_dt)
            fh.flush()
            os.fsync(fh.fileno())
        if force:
            os.replace(tmp, out)
        else:
            try:
                os.link(tmp, out)  # never replaces a file that appeared meanwhile
            except FileExistsError:
                raise UserError(f"{out} already exists", hint="choose another name, or overwrite it with --force") from None
            tmp.unlink()
        fsync_dir(out.parent)
    finally:
        tmp.unlink(missing_ok=True)

    whole, size = sha256_file(out)
    return WaczSummary(
        path=out,
        sha256=whole,
        size=size,
        created=created,
        items=[i.path for i in wanted],
        referenced=[i.path for i in referenced],
        pages=len(pages),
        index_lines=len(index_lines),
        resources=len(package["resources"]),
        station=identity.fingerprint,
        warnings=warnings,
    )


def sign_hash(identity: StationIdentity, hash_text: str, created: str, software: str) -> dict[str, str]:
    """The anonymous `signedData` of datapackage-digest.json (see the module doc)."""
    key = identity.private_key
    der = key.sign(hash_text.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    width = (key.curve.key_size + 7) // 8
    raw = r.to_bytes(width, "big") + s.to_bytes(width, "big")
    spki = identity.public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "hash": hash_text,
        "created": created,
        "software": software,
        "signature": base64.b64encode(raw).decode("ascii"),
        "publicKey": base64.b64encode(spki).decode("ascii"),
    }


# -- reading the case ---------------------------------------------------------------------------


def _read_case(case_dir: Path) -> tuple[bytes, CaseInfo]:
    try:
        data = (case_dir / "case.json").read_bytes()
    except FileNotFoundError:
        raise UserError(f"{case_dir} is not a case folder (no case.json)") from None
    try:
        return data, CaseInfo.model_validate_json(data)
    except ValueError:
        raise UserError(f"{case_dir}/case.json is damaged", hint="run: archiver verify CASE") from None


def _read_manifest(case_dir: Path) -> tuple[list[bytes], list[tuple[int, ManifestEvent]]]:
    """The manifest's lines (exact bytes, newline excluded) and the events that parse,
    with their line index. A torn last line is no event."""
    try:
        data = (case_dir / "manifest.jsonl").read_bytes()
    except FileNotFoundError:
        raise UserError(f"{case_dir} has no manifest.jsonl") from None
    lines = data.split(b"\n")[:-1]  # what follows the last newline is not a whole line
    events = []
    for index, raw in enumerate(lines):
        try:
            events.append((index, ManifestEvent.model_validate_json(raw)))
        except ValueError:
            continue
    return lines, events


def _sealed_captures(case_dir: Path, events: list[tuple[int, ManifestEvent]]) -> dict[str, _Item]:
    found: dict[str, _Item] = {}
    for _, event in events:
        rel = str(event.subject.get("path", ""))
        if event.type == EventType.CAPTURE_SEALED and rel and rel not in found:
            try:
                artifacts = [Artifact.model_validate(a) for a in event.subject.get("artifacts", [])]
            except ValueError:
                continue
            found[rel] = _Item(rel, rel.rsplit("/", 1)[-1], case_dir / rel, event, artifacts)
        elif event.type == EventType.TIMESTAMP_ADDED and rel in found:
            if event.subject.get("root_hash") == found[rel].root_hash:
                found[rel].tokens.append(event)
    return found


def _normalise(case_dir: Path, raw: str) -> str:
    path = Path(raw)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(case_dir)
        except ValueError:
            raise UserError(f"{raw} is not inside case folder {case_dir}") from None
    return path.as_posix().strip("/")


def _check_seal_file(item: _Item) -> None:
    seal = item.folder / "seal.json"
    try:
        data = seal.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{item.path}: seal.json is missing", hint="run: archiver verify CASE") from None
    if hashlib.sha256(data).hexdigest() != item.root_hash:
        raise UserError(f"{item.path}: seal.json no longer matches the sealed root hash", hint="run: archiver verify CASE")


def _referenced_items(wanted: list[_Item], sealed: dict[str, _Item]) -> list[_Item]:
    """Captures of the case holding the records that the wanted captures' revisits (and,
    in turn, those captures' revisits) refer to."""
    chosen = list(wanted)
    facts = {item.path: _warc_facts(item) for item in chosen}
    owner: dict[str, _Item] | None = None  # record id -> capture, read only when needed
    added: list[_Item] = []
    while True:
        have = set().union(*(facts[i.path][0] for i in chosen))
        missing = set().union(*(facts[i.path][1] for i in chosen)) - have
        if not missing:
            return added
        if owner is None:
            owner = {}
            for item in sealed.values():
                if item.path not in facts:
                    facts[item.path] = _warc_facts(item)
                for record_id in facts[item.path][0]:
                    owner.setdefault(record_id, item)
        new = {owner[r].path: owner[r] for r in missing if r in owner and owner[r] not in chosen}
        if not new:
            raise UserError(
                f"{len(missing)} revisit record(s) point to records that no sealed capture of the case holds",
                hint="run: archiver verify CASE",
            )
        for item in sorted(new.values(), key=lambda i: i.path):
            chosen.append(item)
            added.append(item)


def _warc_facts(item: _Item) -> tuple[set[str], set[str]]:
    """(ids of the response/resource records, ids that revisit records refer to)."""
    ids: set[str] = set()
    refers: set[str] = set()
    for artifact in item.artifacts:
        if artifact.media_type != WARC_TYPE:
            continue
        path = item.folder / artifact.path
        try:
            with open(path, "rb") as fh:
                for record in ArchiveIterator(fh):
                    headers = record.rec_headers
                    if record.rec_type == "revisit":
                        target = headers.get_header("WARC-Refers-To")
                        if target:
                            refers.add(target)
                    elif record.rec_type in ("response", "resource"):
                        ids.add(headers.get_header("WARC-Record-ID"))
        except (ArchiveLoadFailed, OSError, EOFError, ValueError, zlib.error) as exc:
            raise UserError(f"{item.path}/{artifact.path} cannot be read: {exc}", hint="run: archiver verify CASE") from None
    return ids, refers


# -- members --------------------------------------------------------------------------------------


def _item_members(item: _Item) -> list[_Member]:
    members = []
    for artifact in item.artifacts:
        if artifact.media_type == WARC_TYPE:
            name = warc_member(item.name, artifact.path)
        else:
            name = evidence_member(item.name, artifact.path)
        members.append(_Member(name, source=item.folder / artifact.path, sha256=artifact.sha256, size=artifact.size))
    members.append(_Member(evidence_member(item.name, "seal.json"), source=item.folder / "seal.json", sha256=item.root_hash))
    members.append(_Member(evidence_member(item.name, "SHA256SUMS"), source=item.folder / "SHA256SUMS"))
    for event in item.tokens:
        token = str(event.subject.get("token", ""))
        chain = str(event.subject.get("chain", ""))
        members.append(_Member(evidence_member(item.name, token), source=item.folder / token, sha256=str(event.subject.get("token_sha256"))))
        if chain and (item.folder / chain).is_file():
            members.append(_Member(evidence_member(item.name, chain), source=item.folder / chain))
    return members


def _write_member(zf: zipfile.ZipFile, member: _Member, when: datetime) -> tuple[str, int]:
    """Write one member, hashing exactly the bytes written. A copied file must still be
    what was sealed (UserError otherwise)."""
    info = zipfile.ZipInfo(member.name, date_time=when.timetuple()[:6])
    stored = member.name.startswith("archive/") or member.name.lower().endswith(STORED_SUFFIXES)
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    digest = hashlib.sha256()
    size = 0
    if member.data is not None:
        source: BinaryIO = io.BytesIO(member.data)
        expected_size = len(member.data)
    else:
        assert member.source is not None
        try:
            source = open(member.source, "rb")
        except FileNotFoundError:
            raise UserError(f"{member.source} is missing", hint="run: archiver verify CASE") from None
        expected_size = os.fstat(source.fileno()).st_size
    with source, zf.open(info, "w", force_zip64=expected_size > zipfile.ZIP64_LIMIT - (1 << 24)) as dest:
        while chunk := source.read(CHUNK):
            dest.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    hexdigest = digest.hexdigest()
    if (member.sha256 is not None and hexdigest != member.sha256) or (member.size is not None and size != member.size):
        raise UserError(f"{member.source} changed since it was sealed", hint="run: archiver verify CASE")
    return hexdigest, size


def _resource_name(path: str, used: set[str]) -> str:
    """A Frictionless resource name (lowercase letters, digits, `-._/`), unique."""
    base = re.sub(r"[^-a-z0-9._/]", "-", path.lower())
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}-{n}"
    used.add(name)
    return name


def _excerpt(lines: list[bytes], events: list[tuple[int, ManifestEvent]], chosen: list[_Item]) -> bytes:
    paths = {item.path for item in chosen}
    keep = []
    for index, event in events:
        path = event.subject.get("path")
        if event.type == EventType.CASE_CREATED:
            keep.append(index)
        elif event.type == EventType.CAPTURE_SEALED and path in paths:
            keep.append(index)
        elif event.type == EventType.TIMESTAMP_ADDED and path in paths:
            keep.append(index)
    return b"".join(lines[i] + b"\n" for i in keep)


# -- index and pages --------------------------------------------------------------------------


def _index_warc(path: Path, filename: str) -> list[str]:
    """CDXJ lines (pywb / ReplayWeb.page flavour) for one WARC, `filename` as named in
    archive/."""
    from cdxj_indexer.main import CDXJIndexer  # imported here: only exports need it

    out = io.StringIO()
    CDXJIndexer(output=out, inputs=[str(path)], filename=filename, post_append=True).process_all()
    return [line + "\n" for line in out.getvalue().splitlines() if line and not line.startswith("!")]


def _page(item: _Item) -> dict[str, Any]:
    try:
        prov = json.loads((item.folder / "provenance.json").read_bytes())
    except (OSError, ValueError):
        prov = {}
    url = prov.get("final_url") or prov.get("requested_url") or item.event.subject.get("url") or ""
    started = prov.get("started")
    try:
        ts = _iso(datetime.fromisoformat(str(started).replace("Z", "+00:00")))
    except ValueError:
        ts = _iso(datetime.fromisoformat(item.event.time.replace("Z", "+00:00")))
    dom = item.folder / "dom.html"
    text = visible_text(dom.read_text("utf-8", errors="replace")) if dom.is_file() else ""
    return {"id": item.name, "url": url, "ts": ts, "title": prov.get("title") or "", "text": text}


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


_SKIP = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object"}
_BLOCK = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    "button", "option", "label", "summary", "details", "img",
}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The text a reader sees: no scripts, styles or head; whitespace collapsed."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.parts).split())
