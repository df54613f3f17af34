"""Seal and verify: a real case (captures + an import, timestamps from a real TSA), then
one change at a time; verify must fail every time, naming the file and the reason. And the
standard tools a verifier already trusts reach the same answer on the untouched case."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from archiver.seal.case import open_case
from archiver.seal.identity import StationIdentity
from archiver.importer import import_file
from archiver.verify.run import verify_path

ARCHIVER = str(Path(sys.executable).with_name("archiver"))


@pytest.fixture(scope="module")
def sealed_case(engine, web, tsa, tmp_path_factory):
    """The engine's case after a capture of the post and an imported phone screenshot."""
    captured = engine.capture(f"{web.main}/post/1")
    assert captured.seal.timestamps == [tsa.url], captured.seal.timestamp_errors
    settings = engine.settings
    case = open_case(settings.output_dir, "tests", StationIdentity.load_or_create(settings.identity.key_path))
    shot = tmp_path_factory.mktemp("phone") / "status.png"
    Image.new("RGB", (360, 640), (30, 120, 200)).save(shot)
    imported = import_file(case, shot, settings, source_url=None, note="WhatsApp status")
    assert not imported.pending
    return case.folder, captured, imported


@pytest.fixture
def case_copy(sealed_case, tmp_path):
    folder, captured, imported = sealed_case
    copy = tmp_path / "tests"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(".incomplete-*"))
    return copy, captured.seal.path, imported.path


def verify(path: Path, tsa) -> tuple[bool, dict]:
    report = verify_path(path, [tsa.ca_cert_path])
    return report.passed(), report.model_dump(mode="json")


def problems(report: dict) -> list[str]:
    found = [f"{p['file']}: {p['reason']}" for p in report["case_problems"]]
    for item in report["items"]:
        found += [f"{p['file']}: {p['reason']}" for p in item["problems"]]
    return found


def test_untouched_case_passes(case_copy, tsa):
    copy, capture, imported = case_copy
    ok, report = verify(copy, tsa)
    assert ok, problems(report)
    by_path = {i["path"]: i for i in report["items"]}
    assert by_path[capture]["status"] == "PASS" and by_path[imported]["status"] == "PASS"
    assert by_path[capture]["warc_records"] > 10
    assert all(t["ok"] for t in by_path[capture]["timestamps"])


def test_single_capture_folder_passes(case_copy, tsa):
    copy, capture, _ = case_copy
    report = verify_path(copy / capture, [tsa.ca_cert_path])
    assert report.passed() and [i.path for i in report.items] == [capture]


def test_untrusted_tsa_root_fails(case_copy):
    copy, capture, _ = case_copy
    report = verify_path(copy / capture, [])
    assert not report.passed()
    assert any("root" in p.reason for i in report.items for p in i.problems)


def flip(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if offset is None else offset
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "target,expect",
    [
        ("screenshot-full.png", "changed"),
        ("archive.warc.gz", "archive.warc.gz"),
        ("provenance.json", "changed"),
        ("seal.json", "seal.json"),
        ("SHA256SUMS", "SHA256SUMS"),
    ],
)
def test_flipped_byte_in_capture_fails(case_copy, tsa, target, expect):
    copy, capture, _ = case_copy
    flip(copy / capture / target)
    ok, report = verify(copy, tsa)
    assert not ok
    found = problems(report)
    assert any(target in p and expect in p for p in found), found


def test_flipped_byte_in_import_fails(case_copy, tsa):
    copy, _, imported = case_copy
    flip(copy / imported / "original.png")
    ok, report = verify(copy, tsa)
    assert not ok and any("original.png" in p and "changed" in p for p in problems(report))


def test_flipped_byte_in_token_fails(case_copy, tsa):
    copy, capture, _ = case_copy
    token = next((copy / capture / "timestamps").glob("*.tsr"))
    flip(token)
    ok, report = verify(copy, tsa)
    assert not ok and any(token.name in p for p in problems(report))


def test_flipped_byte_in_manifest_line_fails(case_copy, tsa):
    copy, _, _ = case_copy
    manifest = copy / "manifest.jsonl"
    lines = manifest.read_bytes().split(b"\n")
    line = bytearray(lines[2])
    line[line.index(b'"time":"') + 9] ^= 0x01  # a digit of the time
    lines[2] = bytes(line)
    manifest.write_bytes(b"\n".join(lines))
    ok, report = verify(copy, tsa)
    assert not ok and any("manifest.jsonl line 3" in p for p in problems(report)), problems(report)


def test_deleted_file_fails(case_copy, tsa):
    copy, capture, _ = case_copy
    (copy / capture / "page.pdf").unlink()
    ok, report = verify(copy, tsa)
    assert not ok and any("page.pdf" in p and "missing" in p for p in problems(report))


def test_added_file_fails(case_copy, tsa):
    copy, capture, _ = case_copy
    (copy / capture / "extra.txt").write_text("planted")
    ok, report = verify(copy, tsa)
    assert not ok and any("extra.txt" in p and "not in the seal" in p for p in problems(report))


def test_added_folder_fails(case_copy, tsa):
    copy, _, _ = case_copy
    (copy / "planted").mkdir()
    ok, report = verify(copy, tsa)
    assert not ok and any("planted" in p for p in problems(report))


def test_reordered_manifest_lines_fail(case_copy, tsa):
    copy, _, _ = case_copy
    manifest = copy / "manifest.jsonl"
    lines = manifest.read_bytes().split(b"\n")
    lines[1], lines[2] = lines[2], lines[1]
    manifest.write_bytes(b"\n".join(lines))
    ok, report = verify(copy, tsa)
    assert not ok and any("chain broken" in p for p in problems(report)), problems(report)


def test_truncated_last_line_fails(case_copy, tsa):
    copy, _, _ = case_copy
    manifest = copy / "manifest.jsonl"
    manifest.write_bytes(manifest.read_bytes()[:-20])
    ok, report = verify(copy, tsa)
    assert not ok and any("last line is incomplete" in p for p in problems(report)), problems(report)


def _doc_block(marker: str) -> str:
    """The shell block in docs/verifying.md that follows `marker`: run what we document."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "verifying.md").read_text()
    after = doc[doc.index(marker):]
    block = after[after.index("```sh\n") + 6:]
    return block[: block.index("```")]


def sh(script: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script, "doc", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})


def test_standard_tools_agree(case_copy, tsa):
    """The exact commands docs/verifying.md gives a verifier, on an untouched case."""
    copy, capture, _ = case_copy
    item = copy / capture
    done = sh(_doc_block("**1. Every file is what was sealed**"), item)
    assert done.returncode == 0 and done.stdout.count(": OK") >= 6, done.stdout + done.stderr
    done = sh(_doc_block("**2. `SHA256SUMS` says the same"), item)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr
    root = sh("sha256sum seal.json", item).stdout.split()[0]
    assert sh(f"grep -c '\"root_hash\":\"{root}\"' ../manifest.jsonl", item).stdout.strip() == "2"  # sealed + timestamped
    token = next((item / "timestamps").glob("*.tsr")).name
    ts = _doc_block("**4. The trusted timestamp**").replace("<tsa>.tsr", token).replace("<tsa-root>.pem", str(tsa.ca_cert_path))
    done = sh(ts, item)
    assert done.returncode == 0 and "Verification: OK" in done.stdout and "Time stamp:" in done.stdout, done.stdout + done.stderr
    done = sh(_doc_block("**5. The WARC's record digests**"), item)
    assert done.returncode == 0 and "digest pass" in done.stdout, done.stdout + done.stderr
    done = sh(_doc_block("**6. The manifest chain**"), copy)
    assert done.returncode == 0 and "chain OK" in done.stdout, done.stdout + done.stderr
    script = _doc_block("**7. A signature**").replace("python3 - N", "python3 - 3")
    done = sh(script, copy)
    assert done.returncode == 0 and "Verified OK" in done.stdout, done.stdout + done.stderr
    fingerprint = json.loads((copy / "manifest.jsonl").read_text().splitlines()[2])["actor"]["station"]
    assert fingerprint in done.stdout


def test_cli_verify_exit_codes_and_json(case_copy, tsa):
    copy, capture, _ = case_copy
    good = subprocess.run([ARCHIVER, "verify", str(copy), "--tsa-root", str(tsa.ca_cert_path), "--json"], capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    assert json.loads(good.stdout)["passed"] is True
    flip(copy / capture / "dom.html")
    bad = subprocess.run([ARCHIVER, "verify", str(copy), "--tsa-root", str(tsa.ca_cert_path)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "dom.html" in bad.stdout and "NOT VERIFIED" in bad.stdout
    assert "Traceback" not in bad.stderr



def test_damaged_gzip_record_is_named(case_copy):
    """warcio reads a record whose deflate data is damaged short and says nothing (so does
    `warcio check`); our record check names it."""
    from archiver.verify.warcs import check_warc

    copy, capture, _ = case_copy
    warc = copy / capture / "archive.warc.gz"
    assert check_warc(warc).problems == []
    flip(warc, warc.stat().st_size - 3000)  # inside a late record's compressed data
    problems = check_warc(warc).problems
    assert problems and any(word in problems[0] for word in ("damaged", "digest", "unreadable", "cut short")), problems
