"""Evidence bundle: the whole case in one zip that `archiver verify` checks as it is."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from archiver.seal.case import open_case
from archiver.seal.identity import StationIdentity
from archiver.package.bundle import export_bundle
from archiver.verify.run import verify_path

ARCHIVER = str(Path(sys.executable).with_name("archiver"))


@pytest.fixture(scope="module")
def bundle(engine, web, tmp_path_factory):
    engine.capture(f"{web.main}/post/1")
    settings = engine.settings
    case = open_case(settings.output_dir, "tests", StationIdentity.load_or_create(settings.identity.key_path), operator="Rina")
    out = tmp_path_factory.mktemp("export") / "case-tests.zip"
    summary = export_bundle(case, out)
    return case, out, summary


def rewrite(src: Path, dst: Path, change=None, add: tuple[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if change and change[0](info.filename):
                data = change[1](data)
            zout.writestr(info, data)
        if add:
            zout.writestr(add[0], add[1])


def test_bundle_content_and_export_event(bundle):
    case, out, summary = bundle
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        readme = zf.read("README.md").decode()
    assert "tests/case.json" in names and "tests/manifest.jsonl" in names
    assert any(n.endswith("/archive.warc.gz") for n in names)
    assert f"station-keys/{case.identity.fingerprint}.pub.pem" in names
    assert not any(".payload-index" in n or ".case.lock" in n or ".incomplete-" in n for n in names)
    assert "How to verify" in readme and "Cara memverifikasi" in readme and "operator Rina" in readme
    last = json.loads((case.folder / "manifest.jsonl").read_text().splitlines()[-1])
    assert last["type"] == "export-made" and last["subject"]["kind"] == "bundle"
    assert last["subject"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() == summary.sha256
    with zipfile.ZipFile(out) as zf:  # the sealed files travel byte for byte
        for name in names:
            if name.startswith("tests/") and not name.endswith("manifest.jsonl"):
                assert zf.read(name) == (case.folder / name[len("tests/"):]).read_bytes(), name


def test_verify_bundle_without_unpacking(bundle, tsa):
    _, out, summary = bundle
    report = verify_path(out, [tsa.ca_cert_path])
    assert report.passed(), [p for i in report.items for p in i.problems] + report.case_problems
    assert len(report.items) >= summary.items
    done = subprocess.run([ARCHIVER, "verify", str(out), "--tsa-root", str(tsa.ca_cert_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_tampered_member_is_named(bundle, tsa, tmp_path):
    _, out, _ = bundle
    bad = tmp_path / "bad.zip"
    target = {}

    def pick(name: str) -> bool:
        hit = name.endswith("/screenshot-full.png") and not target
        if hit:
            target["name"] = name
        return hit

    def flip(data: bytes) -> bytes:
        b = bytearray(data)
        b[len(b) // 2] ^= 1
        return bytes(b)

    rewrite(out, bad, change=(pick, flip))
    report = verify_path(bad, [tsa.ca_cert_path])
    assert not report.passed()
    found = [f"{p.file}: {p.reason}" for i in report.items for p in i.problems]
    assert any(target["name"] in f and "changed" in f for f in found), found


def test_added_member_fails(bundle, tsa, tmp_path):
    _, out, _ = bundle
    bad = tmp_path / "added.zip"
    rewrite(out, bad, add=("tests/planted.txt", b"x"))
    report = verify_path(bad, [tsa.ca_cert_path])
    assert not report.passed()
    assert any("planted.txt" in p.file for p in report.case_problems)


def test_refuses_to_overwrite(bundle):
    case, out, _ = bundle
    from archiver.errors import UserError

    with pytest.raises(UserError, match="already exists"):
        export_bundle(case, out)


def test_not_a_zip(tmp_path):
    fake = tmp_path / "x.zip"
    fake.write_bytes(b"not a zip")
    report = verify_path(fake, [])
    assert not report.passed() and "not a readable zip" in report.case_problems[0].reason


def test_cli_export_refuses_to_overwrite_unless_forced(bundle, tmp_path):
    from helpers import run_cli

    case, _, _ = bundle
    capture = next(p for p in sorted(case.folder.iterdir()) if (p / "seal.json").is_file() and (p / "archive.warc.gz").is_file())
    out = tmp_path / "one.wacz"
    first = run_cli("export", str(capture), "--wacz", str(out))
    assert first.returncode == 0, first.stderr
    again = run_cli("export", str(capture), "--wacz", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
    forced = run_cli("export", str(capture), "--wacz", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    last = json.loads((case.folder / "manifest.jsonl").read_text().splitlines()[-1])
    assert last["type"] == "export-made" and last["subject"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
