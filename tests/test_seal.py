"""Sealing flows: station key, torn manifest lines, pending timestamps, dedup revisits,
a kill -9 during a seal, and finishing interrupted work."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fixtures.tsa import settings as tsa_settings
from helpers import HOST_RULES, warc_records, warcio_check

from archiver.config import TimestampSettings
from archiver.models import EventType
from archiver.seal.case import open_case
from archiver.seal.identity import StationIdentity
from archiver.seal.pending import seal_unsealed, timestamp_pending
from archiver.seal.sealer import seal_item
from archiver.verify.report import Status
from archiver.verify.run import verify_path

ARCHIVER = str(Path(sys.executable).with_name("archiver"))
OFF = TimestampSettings(enabled=False)


def make_item(case_dir: Path, name: str, files: dict[str, bytes]) -> Path:
    folder = case_dir / name
    folder.mkdir(parents=True)
    for rel, data in files.items():
        (folder / rel).write_bytes(data)
    return folder


def test_station_key_is_private_and_fingerprint_is_standard(tmp_path):
    key = tmp_path / "keys" / "station.pem"
    identity = StationIdentity.load_or_create(key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert StationIdentity.load_or_create(key).fingerprint == identity.fingerprint
    pub = tmp_path / "station.pub.pem"
    pub.write_text(identity.public_pem)
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(pub), "-outform", "DER"], capture_output=True, check=True).stdout
    assert __import__("hashlib").sha256(der).hexdigest() == identity.fingerprint


def test_torn_last_line_fails_then_recovers_when_next_event_chains_over_it(tmp_path):
    identity = StationIdentity.load_or_create(tmp_path / "k.pem")
    case = open_case(tmp_path / "out", "c", identity)
    seal_item(case, make_item(case.folder, "item1", {"a.txt": b"alpha"}), EventType.FILE_IMPORTED, {"kind": "import"}, OFF)
    manifest = case.folder / "manifest.jsonl"
    with open(manifest, "ab") as fh:  # a crash mid-write: half an event, no newline
        fh.write(b'{"actor":{"operator":null,"station":"')
    report = verify_path(case.folder)
    assert not report.passed()
    assert any("last line is incomplete" in p.reason for p in report.case_problems)
    case.record(EventType.NOTE_ADDED, {"text": "after the crash", "about": None})
    lines = manifest.read_bytes().split(b"\n")
    assert lines[-3].startswith(b'{"actor":{"operator":null,"station":"'), "torn bytes kept as they were"
    report = verify_path(case.folder)
    assert report.passed(), report.case_problems
    assert any("incomplete write" in n for n in report.case_notes)


def test_pending_timestamp_then_retry(tmp_path, tsa):
    identity = StationIdentity.load_or_create(tmp_path / "k.pem")
    case = open_case(tmp_path / "out", "c", identity)
    tsa.fail = True
    try:
        result = seal_item(case, make_item(case.folder, "item1", {"a.txt": b"alpha"}), EventType.FILE_IMPORTED, {"kind": "import"}, tsa_settings([tsa.url], [tsa.ca_cert_path]))
    finally:
        tsa.fail = False
    assert result.pending and "HTTP 500" in result.timestamp_errors[0]
    report = verify_path(case.folder, [tsa.ca_cert_path])
    assert [i.status for i in report.items] == [Status.PENDING]
    assert report.passed() and not report.passed(strict=True)
    done = timestamp_pending(case, tsa_settings([tsa.url], [tsa.ca_cert_path]))
    assert len(done) == 1 and not isinstance(done[0][1], str) and not done[0][1].pending
    report = verify_path(case.folder, [tsa.ca_cert_path])
    assert [i.status for i in report.items] == [Status.PASS] and report.passed(strict=True)


def test_changed_seal_is_not_timestamped_later(tmp_path, tsa):
    identity = StationIdentity.load_or_create(tmp_path / "k.pem")
    case = open_case(tmp_path / "out", "c", identity)
    folder = make_item(case.folder, "item1", {"a.txt": b"alpha"})
    seal_item(case, folder, EventType.FILE_IMPORTED, {"kind": "import"}, OFF)
    (folder / "seal.json").write_bytes(b"[]")
    done = timestamp_pending(case, tsa_settings([tsa.url], [tsa.ca_cert_path]))
    assert isinstance(done[0][1], str) and "changed" in done[0][1]
    assert tsa.requests == tsa.requests  # nothing asked of the TSA for it
    assert not list((folder).glob("timestamps/*"))


def test_second_capture_dedups_into_revisits(engine, web):
    first = engine.capture(f"{web.main}/post/1")
    second = engine.capture(f"{web.main}/post/1")
    prov = json.loads((second.path / "provenance.json").read_text())
    assert prov["warc"]["revisits"] >= 3 and prov["warc"]["bytes_deduplicated"] > 20_000
    records = warc_records(second.path / "archive.warc.gz")
    revisits = [r for r in records if r["type"] == "revisit"]
    assert revisits and all(
        r["warc"]["WARC-Profile"].endswith("/revisit/identical-payload-digest") for r in revisits
    )
    firsts = {r["warc"]["WARC-Record-ID"]: r for r in warc_records(first.path / "archive.warc.gz")} | {
        r["warc"]["WARC-Record-ID"]: r for p in first.path.parent.glob("*/archive.warc.gz") for r in warc_records(p)
    }
    for r in revisits:
        original = firsts[r["warc"]["WARC-Refers-To"]]
        assert original["type"] == "response"
        assert original["warc"]["WARC-Payload-Digest"] == r["warc"]["WARC-Payload-Digest"]
        assert original["uri"] == r["warc"]["WARC-Refers-To-Target-URI"]
    # the request side of every exchange is always written in full
    assert len([r for r in records if r["type"] == "request"]) == prov["warc"]["exchanges"]
    assert warcio_check(second.path / "archive.warc.gz").returncode == 0
    report = verify_path(second.path, [engine.settings.timestamp.trusted_roots[0]])
    assert report.passed(), [p for i in report.items for p in i.problems]


def test_revisit_to_a_missing_original_fails(engine, web, tmp_path):
    later = engine.capture(f"{web.main}/post/1")
    copy = tmp_path / "tests"
    shutil.copytree(later.path.parent, copy, ignore=shutil.ignore_patterns(".incomplete-*"))
    report = verify_path(copy / later.path.name, [engine.settings.timestamp.trusted_roots[0]])
    assert report.passed()
    # a verifier given only part of the case: the originals are gone
    for folder in copy.iterdir():
        if folder.is_dir() and folder.name != later.path.name:
            shutil.rmtree(folder)
    report = verify_path(copy / later.path.name, [engine.settings.timestamp.trusted_roots[0]])
    assert any("revisit" in p.reason for i in report.items for p in i.problems)


@pytest.mark.slow
def test_kill_9_during_seal_then_continue(tmp_path, web, tsa):
    """The TSA accepts and never answers: the capture is sealed and its event written, the
    process is inside the timestamp request when it is killed."""
    config = tmp_path / "c.toml"
    config.write_text(
        f"[browser]\nextra_args = [{json.dumps(HOST_RULES)}]\n[network]\nallow_private = true\n"
        f"[identity]\nkey_path = {json.dumps(str(tmp_path / 'k.pem'))}\n"
        f"[timestamp]\ntsa_urls = [{json.dumps(tsa.url)}]\ntimeout = 30.0\n"
        f"trusted_roots = [{json.dumps(str(tsa.ca_cert_path))}]\n"
    )
    out = tmp_path / "out"
    run = [ARCHIVER, "capture", "--config", str(config), "--out", str(out), "--case", "k"]
    seen = tsa.requests
    tsa.silent = True
    try:
        proc = subprocess.Popen([*run, f"{web.main}/post/1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while tsa.requests == seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tsa.requests > seen, "the seal never reached the TSA"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        tsa.silent = False
    case = out / "k"
    report = verify_path(case, [tsa.ca_cert_path])
    (item,) = report.items
    assert item.status == Status.PENDING and not item.problems, item
    assert report.passed() and not report.passed(strict=True)
    # the next capture continues the same case
    done = subprocess.run([*run, f"{web.main}/r/start"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    retry = subprocess.run([ARCHIVER, "timestamp", "k", "--pending", "--config", str(config), "--out", str(out)], capture_output=True, text=True)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    report = verify_path(case, [tsa.ca_cert_path])
    assert report.passed(strict=True), [(i.path, i.status, i.problems) for i in report.items]
    assert len(report.items) == 2


def test_finished_but_unsealed_item_is_reported_then_sealed(tmp_path):
    identity = StationIdentity.load_or_create(tmp_path / "k.pem")
    case = open_case(tmp_path / "out", "c", identity)
    make_item(case.folder, "imports/20260101T000000Z_x_abcdef", {"original.txt": b"x", "metadata.json": json.dumps({
        "original_name": "x.txt", "stored_as": "original.txt", "size": 1, "sha256": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
        "media_type": "text/plain", "imported": "2026-01-01T00:00:00.000Z"}).encode()})
    report = verify_path(case.folder)
    (item,) = report.items
    assert item.status == Status.INCOMPLETE and "archiver seal" in item.notes[0]
    assert report.passed() and not report.passed(strict=True)
    sealed = seal_unsealed(case, OFF)
    assert [s.path for s in sealed] == ["imports/20260101T000000Z_x_abcdef"]
    report = verify_path(case.folder)
    assert [i.status for i in report.items] == [Status.PENDING]


def test_note_command(tmp_path):
    env = {**os.environ, "ARCHIVER_IDENTITY__KEY_PATH": str(tmp_path / "k.pem")}
    identity = StationIdentity.load_or_create(tmp_path / "k.pem")
    open_case(tmp_path / "out", "c", identity)
    done = subprocess.run([ARCHIVER, "note", "c", "Phone handed to the editor", "--out", str(tmp_path / "out"), "--operator", "Rina"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    last = json.loads((tmp_path / "out" / "c" / "manifest.jsonl").read_text().splitlines()[-1])
    assert last["type"] == "note-added" and last["subject"]["text"] == "Phone handed to the editor"
    assert last["actor"]["operator"] == "Rina"
    assert verify_path(tmp_path / "out" / "c").passed()
    bad = subprocess.run([ARCHIVER, "note", "nosuch", "x", "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
