"""verify PATH: a case folder, one item folder of a case, or a lone item folder.

Reads only what the other stages wrote (through archiver.models and the canonical JSON
definition); recomputes everything; trusts nothing but the TSA roots it is given.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from pydantic import ValidationError

from ..models import Artifact, CaseInfo, EventType, ManifestEvent
from . import files
from .manifest import check_manifest
from .report import ItemReport, Problem, Status, TimestampSeen, VerifyReport
from .tokens import check_token
from .tsa_roots import pinned_from, trusted_roots
from .warcs import WarcCheck, check_warc

CASE_FILE = "case.json"
CASE_FILES = {"case.json", "manifest.jsonl", ".case.lock"}
# working files of the case, not evidence: the dedup index and the job queue (SQLite + WAL)
WORKING_FILES = (".payload-index.sqlite", "jobs.sqlite")
INCOMPLETE_PREFIX = ".incomplete-"
WARC_TYPES = ("application/warc",)


@dataclass
class _Item:
    report: ItemReport
    folder: Path
    artifacts: list[Artifact]
    tokens: list[dict] = field(default_factory=list)  # timestamp-added subjects
    warc: WarcCheck = field(default_factory=WarcCheck)  # all WARCs of the item, merged


def find_case(path: Path) -> Path | None:
    for candidate in (path, path.parent, path.parent.parent):
        if (candidate / CASE_FILE).is_file():
            return candidate
    return None


def verify_path(path: Path, tsa_roots: list[Path] | None = None, workers: int = 2) -> VerifyReport:
    if path.is_file() and path.name.lower().endswith(".wacz"):
        from .wacz import verify_wacz
        return verify_wacz(path, list(tsa_roots or []))
    path = path.resolve()
    if path.is_file() and path.suffix.lower() == ".zip":  # an evidence bundle
        from .bundle import verify_bundle

        return verify_bundle(path, list(tsa_roots or []))
    roots = trusted_roots(list(tsa_roots or []))
    case_dir = find_case(path)
    if case_dir is None:
        return _verify_lone_item(path, roots)
    report = VerifyReport(target=str(path))
    try:
        info = CaseInfo.model_validate_json((case_dir / CASE_FILE).read_bytes())
    except (ValidationError, ValueError) as exc:
        report.case_problems.append(Problem(file=CASE_FILE, reason=f"damaged: {exc}"))
        return report
    report.case = info.name
    report.stations = [s.fingerprint for s in info.stations]
    checked = check_manifest(case_dir, info)
    report.case_problems.extend(checked.problems)
    report.case_notes.extend(checked.notes)
    report.manifest_events = len(checked.events)
    items = _items_from_events(case_dir, checked.events, report)
    only = None if path == case_dir else path.relative_to(case_dir).as_posix()
    if only is None:
        _unlisted_folders(case_dir, items, report)
    selected = [it for key, it in items.items() if only is None or key == only]
    if only is not None and not selected:
        report.case_problems.append(Problem(file=only, reason="this folder is not sealed in the case manifest"))
    _check_items(selected, roots, workers)
    _resolve_revisits(selected, items, report)
    report.items.extend(it.report for it in selected)
    return report


def _items_from_events(case_dir: Path, events: list[ManifestEvent], report: VerifyReport) -> dict[str, _Item]:
    items: dict[str, _Item] = {}
    for event in events:
        subject = event.subject
        if event.type in (EventType.CAPTURE_SEALED, EventType.FILE_IMPORTED):
            rel = str(subject.get("path", ""))
            try:
                artifacts = [Artifact.model_validate(a) for a in subject.get("artifacts", [])]
            except ValidationError:
                report.case_problems.append(Problem(file="manifest.jsonl", reason=f"event {event.seq}: malformed artifact list"))
                continue
            if rel in items:
                report.case_problems.append(Problem(file=rel, reason=f"sealed twice (event {event.seq})"))
                continue
            item_report = ItemReport(
                path=rel,
                kind=str(subject.get("kind", "unknown")),
                url=subject.get("url"),
                root_hash=str(subject.get("root_hash", "")),
            )
            items[rel] = _Item(item_report, case_dir / rel, artifacts)
        elif event.type == EventType.TIMESTAMP_ADDED:
            rel = str(subject.get("path", ""))
            if rel not in items:
                report.case_problems.append(Problem(file="manifest.jsonl", reason=f"event {event.seq}: timestamp for {rel}, which is not sealed before it"))
                continue
            items[rel].tokens.append(subject)
    return items


def _unlisted_folders(case_dir: Path, items: dict[str, _Item], report: VerifyReport) -> None:
    candidates = [p for p in case_dir.iterdir()]
    imports = case_dir / "imports"
    if imports.is_dir():
        candidates.remove(imports)
        candidates.extend(imports.iterdir())
    for path in sorted(candidates):
        rel = path.relative_to(case_dir).as_posix()
        if rel in items or path.name in CASE_FILES or path.name.startswith(WORKING_FILES):
            continue
        if path.is_dir() and path.name.startswith(INCOMPLETE_PREFIX):
            report.items.append(ItemReport(path=rel, kind="unknown", status=Status.INCOMPLETE, notes=["an interrupted capture or import: never finished, never sealed, not evidence"]))
        elif path.is_dir() and (path / files.SEAL_FILE).exists():
            report.items.append(ItemReport(path=rel, kind="unknown", status=Status.INCOMPLETE, notes=["seal files were written but the manifest event is missing (the seal was interrupted); run: archiver seal CASE"]))
        elif path.is_dir() and any((path / n).is_file() for n in ("provenance.json", "metadata.json")):
            report.items.append(ItemReport(path=rel, kind="unknown", status=Status.INCOMPLETE, notes=["finished but never sealed (the run was interrupted before its seal); run: archiver seal CASE"]))
        elif path.name in files.HARMLESS:
            report.case_notes.append(f"{rel}: ignored (made by a file browser)")
        else:
            report.case_problems.append(Problem(file=rel, reason="not in the manifest (added to the case after the fact?)"))


def _check_items(items: list[_Item], roots: list[x509.Certificate], workers: int) -> None:
    """Hash every artifact and read every WARC on a small thread pool (hashlib and zlib
    release the GIL, so two cores are both busy)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        jobs: list[tuple[_Item, Future]] = []
        warc_jobs: list[tuple[_Item, Artifact, Future]] = []
        for item in items:
            if not item.folder.is_dir():
                item.report.fail(item.report.path, "folder missing")
                continue
            files.check_seal_files(item.folder, item.report.path, item.artifacts, item.report.root_hash or "", item.report)
            token_files = {t.get("token", "") for t in item.tokens} | {t.get("chain", "") for t in item.tokens}
            files.check_unlisted(item.folder, item.report.path, item.artifacts, token_files, item.report)
            for artifact in item.artifacts:
                jobs.append((item, pool.submit(files.hash_artifact, item.folder, artifact)))
                if artifact.media_type in WARC_TYPES and (item.folder / artifact.path).is_file():
                    warc_jobs.append((item, artifact, pool.submit(check_warc, item.folder / artifact.path)))
        for item in items:
            if item.folder.is_dir():
                _check_tokens(item, roots)
        for item, job in jobs:
            files.record_hash_result(item.report.path, job.result(), item.report)
        for item, artifact, job in warc_jobs:
            result: WarcCheck = job.result()
            item.report.warc_records += result.records
            for problem in result.problems:
                item.report.fail(f"{item.report.path}/{artifact.path}", problem)
            item.warc.originals.update(result.originals)
            item.warc.revisits.extend(result.revisits)
    for item in items:
        if item.report.status == Status.PASS and not any(t.ok for t in item.report.timestamps):
            item.report.status = Status.PENDING
            item.report.notes.append("no trusted timestamp yet: run `archiver timestamp --pending`")


def _check_tokens(item: _Item, roots: list[x509.Certificate]) -> None:
    rel = item.report.path
    for subject in item.tokens:
        token_rel = str(subject.get("token", ""))
        name = f"{rel}/{token_rel}"
        seen = TimestampSeen(tsa=str(subject.get("tsa", "")), gen_time=subject.get("gen_time"), token=token_rel, ok=False)
        item.report.timestamps.append(seen)
        path = item.folder / token_rel
        if not path.is_file():
            item.report.fail(name, "timestamp token missing")
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != subject.get("token_sha256"):
            item.report.fail(name, "timestamp token changed since it was recorded")
            continue
        if subject.get("root_hash") != item.report.root_hash:
            item.report.fail(name, "timestamp recorded for a different root hash")
            continue
        chain_path = item.folder / str(subject.get("chain", ""))
        chain = _load_chain(chain_path)
        result = check_token(data, item.report.root_hash or "", roots + pinned_from(chain), chain)
        if not result.ok:
            reason = result.reason or "timestamp does not verify"
            if "trusted root" in reason:
                reason += " (if you trust this TSA, give its root with --tsa-root FILE.pem)"
            item.report.fail(name, reason)
            continue
        seen.ok = True
        seen.gen_time = result.gen_time or seen.gen_time


def _load_chain(path: Path) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError):
        return []


def _resolve_revisits(selected: list[_Item], items: dict[str, _Item], report: VerifyReport) -> None:
    originals: dict[str, str] = {}
    for item in selected:
        originals.update(item.warc.originals)
    need_all = any(item.warc.revisits for item in selected)
    if need_all:  # a revisit may point into another capture of the case: read those too
        for item in items.values():
            if item in selected:
                continue
            for artifact in item.artifacts:
                if artifact.media_type in WARC_TYPES and (item.folder / artifact.path).is_file():
                    # only the record ids are needed: that WARC's digests are its own item's check
                    originals.update(check_warc(item.folder / artifact.path, digests=False).originals)
    for item in selected:
        for uri, refers_to, digest in item.warc.revisits:
            if originals.get(refers_to) != digest:
                item.report.fail(f"{item.report.path}/archive.warc.gz", f"revisit of {uri} points to {refers_to}, which is not a record of this case with the same payload")


def _verify_lone_item(path: Path, roots: list[x509.Certificate]) -> VerifyReport:
    """An item folder outside any case: check its files against its own seal.json and its
    tokens against sha256(seal.json). The chain of custody cannot be checked."""
    report = VerifyReport(target=str(path))
    item_report = ItemReport(path=path.name, kind="unknown")
    seal = path / files.SEAL_FILE
    if not seal.is_file():
        report.case_problems.append(Problem(file=str(path), reason="neither a case folder (case.json) nor a sealed item (seal.json)"))
        return report
    try:
        artifacts = [Artifact.model_validate(a) for a in json.loads(seal.read_bytes())]
    except (ValueError, ValidationError, TypeError):
        report.case_problems.append(Problem(file="seal.json", reason="damaged: not a sealed artifact list"))
        return report
    root = hashlib.sha256(seal.read_bytes()).hexdigest()
    item_report.root_hash = root
    tokens = []
    for tsr in sorted((path / files.TIMESTAMPS_DIR).glob("*.tsr")):
        chain = tsr.with_name(tsr.name[: -len(".tsr")] + ".chain.pem")
        tokens.append({"tsa": tsr.stem, "token": tsr.relative_to(path).as_posix(), "chain": chain.relative_to(path).as_posix(), "token_sha256": hashlib.sha256(tsr.read_bytes()).hexdigest(), "root_hash": root})
    item = _Item(item_report, path, artifacts, tokens)
    report.case_notes.append("no case manifest here: the chain of custody and signatures were not checked")
    _check_items([item], roots, 2)
    report.items.append(item_report)
    return report
