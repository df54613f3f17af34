"""WACZ export: a signed WACZ of the post capture (with the WARC its dedup revisits point
into) that `wacz validate`, our verify, WebCrypto (as ReplayWeb.page checks signedData) and
pywb all accept; then one change at a time, and verify must fail naming the member."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from fixtures.pywb import PywbReplay
from helpers import POST_TEXT, REPLY_TEXT, assert_post_replayed, warc_records
from playwright.sync_api import sync_playwright

from archiver.errors import UserError
from archiver.package.wacz import evidence_member, export_wacz, warc_member
from archiver.seal.identity import StationIdentity
from archiver.verify.report import Status
from archiver.verify.run import verify_path

WACZ_CLI = str(Path(sys.executable).with_name("wacz"))


@pytest.fixture(scope="module")
def exported(engine, web, tsa, tmp_path_factory):
    """The post captured twice (the second capture's repeated payloads are revisits into
    an earlier WARC of the case), the second one exported."""
    engine.capture(f"{web.main}/post/1")
    captured = engine.capture(f"{web.main}/post/1")
    assert captured.seal.timestamps == [tsa.url], captured.seal.timestamp_errors
    case_dir = captured.path.parent
    revisits = [r for r in warc_records(captured.path / "archive.warc.gz") if r["type"] == "revisit"]
    assert revisits, "the second capture should hold dedup revisits"
    identity = StationIdentity.load_or_create(engine.settings.identity.key_path)
    out = tmp_path_factory.mktemp("wacz") / "post.wacz"
    summary = export_wacz(case_dir, [captured.seal.path], out, identity, "archiver-tests 0.1")
    return summary, captured, case_dir, identity


def verify(path: Path, tsa) -> tuple[bool, list[tuple[str, str]]]:
    report = verify_path(path, [tsa.ca_cert_path])
    found = [(p.file, p.reason) for p in report.case_problems]
    for item in report.items:
        found += [(p.file, p.reason) for p in item.problems]
    return report.passed(), found


def test_summary_includes_referenced_capture(exported):
    summary, captured, case_dir, identity = exported
    assert summary.items == [captured.seal.path]
    assert summary.referenced, "the WARC the revisits point into must be exported too"
    assert summary.pages == 1 and summary.station == identity.fingerprint
    assert summary.sha256 == hashlib.sha256(summary.path.read_bytes()).hexdigest()
    with zipfile.ZipFile(summary.path) as zf:
        names = set(zf.namelist())
        for item in [captured.seal.path, *summary.referenced]:
            name = item.rsplit("/", 1)[-1]
            member = warc_member(name)
            assert member in names
            assert zf.read(member) == (case_dir / item / "archive.warc.gz").read_bytes()  # byte for byte
            assert zf.read(evidence_member(name, "seal.json")) == (case_dir / item / "seal.json").read_bytes()
            assert any(n.startswith(evidence_member(name, "timestamps/")) and n.endswith(".tsr") for n in names)
        assert "evidence/station.pub.pem" in names and "evidence/case.json" in names
        excerpt = zf.read("evidence/manifest-excerpt.jsonl")
        manifest = (case_dir / "manifest.jsonl").read_bytes().split(b"\n")
        assert all(line in manifest for line in excerpt.split(b"\n")[:-1])  # exact lines
        types = [json.loads(line)["type"] for line in excerpt.splitlines()]
        assert types.count("case-created") == 1
        assert types.count("capture-sealed") == 1 + len(summary.referenced)
        assert types.count("timestamp-added") >= 1 + len(summary.referenced)


def test_wacz_validate_passes(exported):
    summary = exported[0]
    done = subprocess.run([WACZ_CLI, "validate", "-f", str(summary.path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Validation succeeded" in done.stdout, done.stdout + done.stderr


def test_verify_passes(exported, tsa):
    summary = exported[0]
    report = verify_path(summary.path, [tsa.ca_cert_path])
    assert report.passed(strict=True), [(p.file, p.reason) for p in report.case_problems] + [
        (p.file, p.reason) for i in report.items for p in i.problems
    ]
    assert sorted(i.path for i in report.items) == sorted(summary.items + summary.referenced)
    for item in report.items:
        assert item.status == Status.PASS and item.warc_records > 10 and item.files_checked >= 5
        assert item.timestamps and all(t.ok for t in item.timestamps)
    assert any("a station of case" in n for n in report.case_notes)


def test_archive_members_are_stored(exported):
    summary = exported[0]
    done = subprocess.run(["unzip", "-v", str(summary.path)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in done.stdout.splitlines() if "archive/" in line]
    assert len(rows) == 1 + len(summary.referenced)
    assert all(row[1] == "Stored" for row in rows), done.stdout


def test_pages_and_index(exported):
    summary, captured, _, _ = exported
    with zipfile.ZipFile(summary.path) as zf:
        lines = zf.read("pages/pages.jsonl").decode().splitlines()
        index = zf.read("indexes/index.cdx").decode().splitlines()
    assert json.loads(lines[0]) == {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    page = json.loads(lines[1])
    assert len(lines) == 2
    assert page["url"].endswith("/post/1") and page["ts"].endswith("Z") and page["id"]
    assert "Pejabat terlihat off-road" in page["title"]
    assert POST_TEXT in page["text"] and REPLY_TEXT in page["text"]
    assert "function" not in page["text"] and "  " not in page["text"]  # no script, collapsed
    assert index == sorted(index)
    entries = [json.loads(line.split(" ", 2)[2]) for line in index]
    assert any(e["url"] == page["url"] and e["status"] == "200" for e in entries)
    assert any(e["mime"] == "warc/revisit" for e in entries)
    assert {e["filename"] for e in entries} == {
        warc_member(i.rsplit("/", 1)[-1]).split("/", 1)[1] for i in [captured.seal.path, *summary.referenced]
    }


def test_signed_data_is_what_replaywebpage_checks(exported):
    """The anonymous signedData: P1363 ECDSA P-384 / SHA-256 over the hash string, base64
    SPKI key; checked here with WebCrypto itself, the way wabac.js verifyWACZSignature does."""
    summary, _, _, identity = exported
    with zipfile.ZipFile(summary.path) as zf:
        package = zf.read("datapackage.json")
        digest = json.loads(zf.read("datapackage-digest.json"))
    signed = digest["signedData"]
    assert digest["path"] == "datapackage.json"
    assert digest["hash"] == signed["hash"] == "sha256:" + hashlib.sha256(package).hexdigest()
    assert set(signed) == {"hash", "created", "software", "signature", "publicKey"}
    assert signed["created"] == json.loads(package)["created"]
    assert len(base64.b64decode(signed["signature"])) == 96  # r || s, 48 bytes each
    assert hashlib.sha256(base64.b64decode(signed["publicKey"])).hexdigest() == identity.fingerprint
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: WebCrypto check skipped")
    script = """
const d = JSON.parse(require("fs").readFileSync(0, "utf8")).signedData;
(async () => {
  const key = await crypto.subtle.importKey("spki", Buffer.from(d.publicKey, "base64"),
      {name: "ECDSA", namedCurve: "P-384"}, true, ["verify"]);
  const ok = await crypto.subtle.verify({name: "ECDSA", hash: "SHA-256"}, key,
      Buffer.from(d.signature, "base64"), new TextEncoder().encode(d.hash));
  console.log(ok ? "valid" : "invalid");
})();
"""
    done = subprocess.run([node, "-e", script], input=json.dumps(digest), capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "valid", done.stdout + done.stderr


def test_refuses_to_overwrite(exported):
    summary, captured, case_dir, identity = exported
    before = summary.path.read_bytes()
    with pytest.raises(UserError, match="already exists"):
        export_wacz(case_dir, [captured.seal.path], summary.path, identity, "archiver-tests 0.1")
    assert summary.path.read_bytes() == before
    assert not list(summary.path.parent.glob(".*.part"))


def test_refuses_unsealed_item(exported, tmp_path):
    _, _, case_dir, identity = exported
    with pytest.raises(UserError, match="not a sealed capture"):
        export_wacz(case_dir, ["no-such-capture"], tmp_path / "x.wacz", identity, "t")


def test_refuses_a_station_the_case_does_not_list(exported, tmp_path):
    _, captured, case_dir, _ = exported
    stranger = StationIdentity.load_or_create(tmp_path / "stranger.pem")
    with pytest.raises(UserError, match="not listed"):
        export_wacz(case_dir, [captured.seal.path], tmp_path / "x.wacz", stranger, "t")
    assert not (tmp_path / "x.wacz").exists()


@pytest.mark.slow
def test_pywb_replays_the_wacz(exported, web, tmp_path):
    summary = exported[0]
    with PywbReplay([summary.path], tmp_path / "pywb") as replay, sync_playwright() as pw:
        assert_post_replayed(pw, replay, f"{web.main}/post/1")


# -- tampering ------------------------------------------------------------------------------------


def rewrite(src: Path, dst: Path, change: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> None:
    """A copy of the zip with some members' bytes replaced or added; every member keeps its
    compression (archive/ stays STORED)."""
    change, add = change or {}, add or {}
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            new.writestr(info, change.get(info.filename, old.read(info.filename)), compress_type=info.compress_type)
        for name, data in add.items():
            new.writestr(name, data)


def flipped(data: bytes, at: int | None = None) -> bytes:
    out = bytearray(data)
    out[len(out) // 2 if at is None else at] ^= 0x01
    return bytes(out)


def member_of(summary, kind: str) -> str:
    with zipfile.ZipFile(summary.path) as zf:
        names = zf.namelist()
    name = summary.items[0].rsplit("/", 1)[-1]
    return {
        "warc": warc_member(name),
        "referenced-warc": warc_member(summary.referenced[0].rsplit("/", 1)[-1]),
        "datapackage": "datapackage.json",
        "digest": "datapackage-digest.json",
        "pages": "pages/pages.jsonl",
        "screenshot": evidence_member(name, "screenshot-full.png"),
        "token": next(n for n in names if n.startswith(evidence_member(name, "timestamps/")) and n.endswith(".tsr")),
        "excerpt": "evidence/manifest-excerpt.jsonl",
    }[kind]


@pytest.mark.parametrize(
    "kind,reason",
    [
        ("warc", "changed"),
        ("referenced-warc", "changed"),
        ("datapackage", ""),
        ("digest", ""),
        ("pages", "changed"),
        ("screenshot", "changed"),
        ("token", "changed"),
        ("excerpt", "changed"),
    ],
)
def test_flipped_byte_fails(exported, tsa, tmp_path, kind, reason):
    summary = exported[0]
    member = member_of(summary, kind)
    with zipfile.ZipFile(summary.path) as zf:
        data = zf.read(member)
    bad = tmp_path / "bad.wacz"
    rewrite(summary.path, bad, change={member: flipped(data)})
    ok, found = verify(bad, tsa)
    assert not ok
    assert any(file == member and reason in why for file, why in found), found
    if kind in ("warc", "referenced-warc"):  # the record digests say it too
        assert any(file == member and "record" in why for file, why in found), found


def test_flipped_hash_in_datapackage_fails(exported, tsa, tmp_path):
    """A hash digit changed inside datapackage.json: still valid JSON, but no longer the
    datapackage that was signed, and no longer the file it lists."""
    summary = exported[0]
    with zipfile.ZipFile(summary.path) as zf:
        data = zf.read("datapackage.json")
    at = data.index(b'"hash": "sha256:') + len(b'"hash": "sha256:') + 3
    bad = tmp_path / "bad.wacz"
    rewrite(summary.path, bad, change={"datapackage.json": flipped(data, at)})
    ok, found = verify(bad, tsa)
    assert not ok
    assert ("datapackage.json", "changed: its SHA-256 is not the hash in datapackage-digest.json") in found, found
    assert any(file == "pages/pages.jsonl" and "differs from the one in datapackage.json" in why for file, why in found), found


def test_flipped_signature_fails(exported, tsa, tmp_path):
    summary = exported[0]
    with zipfile.ZipFile(summary.path) as zf:
        digest = json.loads(zf.read("datapackage-digest.json"))
    raw = bytearray(base64.b64decode(digest["signedData"]["signature"]))
    raw[10] ^= 0x01
    digest["signedData"]["signature"] = base64.b64encode(bytes(raw)).decode()
    bad = tmp_path / "bad.wacz"
    rewrite(summary.path, bad, change={"datapackage-digest.json": json.dumps(digest, indent=2).encode()})
    ok, found = verify(bad, tsa)
    assert not ok and any(file == "datapackage-digest.json" and "signature does not verify" in why for file, why in found), found


def test_added_member_fails(exported, tsa, tmp_path):
    summary = exported[0]
    bad = tmp_path / "bad.wacz"
    rewrite(summary.path, bad, add={"evidence/planted.txt": b"planted"})
    ok, found = verify(bad, tsa)
    assert not ok
    assert any(file == "evidence/planted.txt" and "not listed in datapackage.json" in why for file, why in found), found


def test_resigned_by_another_key_fails(exported, tsa, tmp_path):
    """Someone rebuilds datapackage.json and signs it with their own key: the signature is
    valid, but the key is no station of the case."""
    from archiver.package.wacz import sign_hash

    summary = exported[0]
    stranger = StationIdentity.load_or_create(tmp_path / "stranger.pem")
    with zipfile.ZipFile(summary.path) as zf:
        package = json.loads(zf.read("datapackage.json"))
        pages = zf.read("pages/pages.jsonl") + b'{"id": "x", "url": "https://example.org/", "ts": "2024-01-01T00:00:00Z"}\n'
    for resource in package["resources"]:
        if resource["path"] == "pages/pages.jsonl":
            resource["hash"], resource["bytes"] = "sha256:" + hashlib.sha256(pages).hexdigest(), len(pages)
    package_bytes = json.dumps(package, indent=2).encode()
    hash_text = "sha256:" + hashlib.sha256(package_bytes).hexdigest()
    digest = {"path": "datapackage.json", "hash": hash_text, "signedData": sign_hash(stranger, hash_text, package["created"], "other")}
    bad = tmp_path / "bad.wacz"
    rewrite(summary.path, bad, change={
        "pages/pages.jsonl": pages,
        "datapackage.json": package_bytes,
        "datapackage-digest.json": json.dumps(digest).encode(),
    })
    ok, found = verify(bad, tsa)
    assert not ok
    assert any(file == "datapackage-digest.json" and "not a station" in why for file, why in found), found
    assert any(file == "pages/pages.jsonl" and "not in the index" in why for file, why in found), found


def test_not_a_zip_fails(tsa, tmp_path):
    bad = tmp_path / "broken.wacz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    ok, found = verify(bad, tsa)
    assert not ok and found == [("broken.wacz", found[0][1])] and "not a readable zip" in found[0][1]


def test_deflated_warc_fails(exported, tsa, tmp_path):
    summary = exported[0]
    member = member_of(summary, "warc")
    bad = tmp_path / "bad.wacz"
    with zipfile.ZipFile(summary.path) as old, zipfile.ZipFile(bad, "w") as new:
        for info in old.infolist():
            kind = zipfile.ZIP_DEFLATED if info.filename == member else info.compress_type
            new.writestr(info, old.read(info.filename), compress_type=kind)
    ok, found = verify(bad, tsa)
    assert not ok and any(file == member and "STORE" in why for file, why in found), found
    buffer = io.BytesIO(bad.read_bytes())
    assert zipfile.ZipFile(buffer).getinfo(member).compress_type == zipfile.ZIP_DEFLATED


def test_flipped_byte_in_the_zip_file_itself_fails(exported, tsa, tmp_path):
    """A byte changed in the .wacz file as it lies on disk (not rebuilt): the zip's own CRC
    catches it; verify names the member."""
    summary = exported[0]
    member = member_of(summary, "screenshot")
    data = bytearray(summary.path.read_bytes())
    with zipfile.ZipFile(summary.path) as zf:
        info = zf.getinfo(member)
    name_len, extra_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little"), int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0x01
    bad = tmp_path / "bad.wacz"
    bad.write_bytes(bytes(data))
    ok, found = verify(bad, tsa)
    assert not ok and any(file == member and "cannot be read from the zip" in why for file, why in found), found
