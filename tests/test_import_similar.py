"""`archiver import` (files with no URL, sealed) and `archiver similar` (look-alike images).
Fast: no browser, no network (timestamps off), the station key under tmp_path."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageDraw, ImageFont

from archiver.config import IdentitySettings, Settings, TimestampSettings
from archiver.errors import UserError
from archiver.importer import import_file
from archiver.models import ZERO_HASH, Actor, EventType, ImportMetadata, ManifestEvent
from archiver.seal.case import open_case
from archiver.seal.identity import StationIdentity
from archiver.seal.sealer import SEAL_FILE, SUMS_FILE
from archiver.seal.similar import find_similar

ARCHIVER = str(Path(sys.executable).with_name("archiver"))


# -- helpers ----------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        output_dir=tmp_path / "out",
        identity=IdentitySettings(key_path=tmp_path / "key" / "station.pem"),
        timestamp=TimestampSettings(enabled=False),
    )


@pytest.fixture
def case(settings):
    identity = StationIdentity.load_or_create(settings.identity.key_path)
    return open_case(settings.output_dir, "case1", identity, "ana")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd)}
    env = {k: v for k, v in env.items() if not k.startswith("ARCHIVER_")}
    return subprocess.run(
        [ARCHIVER, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "archiver.toml"
    path.write_text(
        f'[identity]\nkey_path = "{tmp_path / "station.pem"}"\n[timestamp]\nenabled = false\n'
    )
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def post_picture(likes: int) -> Image.Image:
    """A social-media post: a picture, a name, a like count, a caption."""
    img = Image.new("RGB", (480, 640), (245, 245, 245))
    d = ImageDraw.Draw(img)
    for y in range(80, 440):
        d.line((20, y, 460, y), fill=(40 + (y - 80) // 2, 90, 200 - (y - 80) // 3))
    d.ellipse((120, 150, 300, 330), fill=(250, 200, 40))
    d.rectangle((300, 300, 440, 420), fill=(30, 120, 60))
    d.text((24, 24), "rina.kusuma", fill="black", font=ImageFont.load_default(size=28))
    d.text((24, 460), f"{likes} likes", fill="black", font=ImageFont.load_default(size=28))
    d.text((24, 520), "Sunset at the harbour", fill=(60, 60, 60), font=ImageFont.load_default(size=20))
    return img


def stripes_picture() -> Image.Image:
    img = Image.new("RGB", (480, 640), "white")
    d = ImageDraw.Draw(img)
    for x in range(0, 480, 40):
        d.rectangle((x, 0, x + 19, 640), fill="black")
    d.ellipse((300, 400, 460, 620), fill=(200, 0, 0))
    return img


def jpeg_with_exif(path: Path) -> Path:
    img = post_picture(7)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Acme"
    exif[ExifTags.Base.Model] = "Phone 9 Pro"
    exif[ExifTags.Base.DateTime] = "2024:05:02 10:00:00"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:05:01 12:34:56"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = (6.0, 10.0, 30.5)
    img.save(path, "JPEG", exif=exif, quality=90)
    return path


# -- import -----------------------------------------------------------------------------


def test_import_jpeg_keeps_bytes_exif_and_seals(tmp_path, settings, case):
    source = jpeg_with_exif(tmp_path / "Screenshot 2024-05-01 (1).JPG")
    result = import_file(case, source, settings, "https://example.org/p/1", "from the phone")

    item = case.folder / result.path
    assert result.path.startswith("imports/") and item.is_dir()
    assert item.name.split("_", 1)[1].startswith("Screenshot_2024-05-01_1_")
    assert not [p for p in (case.folder / "imports").iterdir() if p.name.startswith(".")]
    stored = item / "original.jpg"
    assert stored.read_bytes() == source.read_bytes()

    meta = ImportMetadata.model_validate_json((item / "metadata.json").read_bytes())
    assert meta.original_name == source.name and meta.stored_as == "original.jpg"
    assert meta.sha256 == sha256(source) and meta.size == source.stat().st_size
    assert meta.media_type == "image/jpeg" and meta.phash and len(meta.phash) == 16
    assert meta.source_url == "https://example.org/p/1" and meta.note == "from the phone"
    assert meta.operator == "ana"
    assert meta.imported.endswith("Z") and meta.file_mtime and meta.file_mtime.endswith("Z")
    assert meta.exif["DateTimeOriginal"] == "2024:05:01 12:34:56"
    assert meta.exif["DateTime"] == "2024:05:02 10:00:00"
    assert meta.exif["Make"] == "Acme" and meta.exif["Model"] == "Phone 9 Pro"
    assert meta.exif["GPSLatitudeRef"] == "S" and meta.exif["GPSLatitude"] == "6, 10, 30.5"
    assert (meta.exif["ImageWidth"], meta.exif["ImageHeight"]) == ("480", "640")

    events = case.manifest.events()
    imported = [e for e in events if e.type == EventType.FILE_IMPORTED]
    assert len(imported) == 1
    subject = imported[0].subject
    assert subject["kind"] == "import" and subject["path"] == result.path
    assert subject["original_name"] == source.name
    artifacts = {a["path"]: a for a in subject["artifacts"]}
    assert set(artifacts) == {"original.jpg", "metadata.json"}
    assert artifacts["original.jpg"]["sha256"] == sha256(source)
    assert artifacts["original.jpg"]["phash"] == meta.phash
    assert artifacts["metadata.json"]["sha256"] == sha256(item / "metadata.json")
    assert hashlib.sha256((item / SEAL_FILE).read_bytes()).hexdigest() == subject["root_hash"]
    assert subject["root_hash"] == result.root_hash
    assert (item / SUMS_FILE).read_text().count("\n") == 2
    assert result.pending and not result.timestamp_errors


def test_import_video_has_no_phash_or_exif(tmp_path, settings, case):
    source = tmp_path / "status.MP4"
    source.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    result = import_file(case, source, settings, None, None)
    meta = json.loads((case.folder / result.path / "metadata.json").read_text())
    assert meta["stored_as"] == "original.mp4" and meta["media_type"] == "video/mp4"
    assert meta["phash"] is None and meta["exif"] == {}
    assert (case.folder / result.path / "original.mp4").read_bytes() == source.read_bytes()


def test_import_refuses_directory_empty_and_missing(tmp_path, settings, case):
    (tmp_path / "empty.png").write_bytes(b"")
    for path, words in [
        (tmp_path, "is a directory"),
        (tmp_path / "empty.png", "is empty"),
        (tmp_path / "nope.png", "no such file"),
    ]:
        with pytest.raises(UserError, match=words):
            import_file(case, path, settings, None, None)
    assert not (case.folder / "imports").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_import_refuses_unreadable(tmp_path, settings, case):
    path = tmp_path / "locked.png"
    path.write_bytes(b"x")
    path.chmod(0)
    with pytest.raises(UserError, match="cannot be read"):
        import_file(case, path, settings, None, None)


def test_cli_missing_file_is_one_line_exit_2_and_imports_nothing(tmp_path):
    good = jpeg_with_exif(tmp_path / "good.jpg")
    out = tmp_path / "out"
    config = write_config(tmp_path)
    done = run("import", str(good), "missing.png", "--case", "c", "--out", str(out),
               "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "missing.png" in lines[0]
    assert "no such file" in lines[0] and "Traceback" not in done.stderr
    assert not out.exists(), "all files are checked before any is imported"
    assert not (tmp_path / "station.pem").exists()


# -- similar ----------------------------------------------------------------------------


def test_similar_groups_a_small_text_change(tmp_path, settings, case):
    # imported in this order; names chosen so that path order differs from time order
    later_name = tmp_path / "zz_twelve.png"
    post_picture(12).save(later_name)
    post_picture(13).save(tmp_path / "aa_thirteen.png")
    stripes_picture().save(tmp_path / "mm_other.png")
    first = import_file(case, later_name, settings, None, None)
    second = import_file(case, tmp_path / "aa_thirteen.png", settings, None, None)
    other = import_file(case, tmp_path / "mm_other.png", settings, None, None)
    assert sha256(tmp_path / "zz_twelve.png") != sha256(tmp_path / "aa_thirteen.png")

    events = case.manifest.events()
    groups = find_similar(events, settings.similar.threshold)
    assert len(groups) == 1
    members = groups[0].members
    assert [m.image.item for m in members] == [first.path, second.path]
    assert all(m.image.artifact == "original.png" for m in members)
    assert members[0].distance == 0 and members[1].distance <= settings.similar.threshold
    assert members[0].image.time <= members[1].image.time
    assert other.path not in {m.image.item for g in groups for m in g.members}


def test_cli_import_json_then_similar(tmp_path):
    config = write_config(tmp_path)
    out = tmp_path / "out"
    post_picture(12).save(tmp_path / "zz.png")
    post_picture(13).save(tmp_path / "aa.png")
    stripes_picture().save(tmp_path / "other.png")
    done = run("import", "zz.png", "aa.png", "other.png", "--case", "c", "--out", str(out),
               "--config", str(config), "--note", "n", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in rows] == ["zz.png", "aa.png", "other.png"]
    assert all(r["pending"] and r["phash"] and len(r["sha256"]) == 64 for r in rows)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}

    done = run("similar", "c", "--out", str(out), "--config", str(config), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["threshold"] == 8 and report["images"] == 3
    assert [[m["item"] for m in g] for g in report["groups"]] == [[rows[0]["item"], rows[1]["item"]]]

    done = run("similar", "c", "--out", str(out), "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 group of look-alike images" in done.stdout
    assert done.stdout.index(rows[0]["item"]) < done.stdout.index(rows[1]["item"])
    assert rows[2]["item"] not in done.stdout

    done = run("similar", "c", "--threshold", "0", "--out", str(out), "--config", str(config),
               "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before, "similar changes nothing"

    done = run("similar", "nosuch", "--out", str(out), "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "not a case" in done.stderr


# -- find_similar on its own --------------------------------------------------------------


def event(seq: int, item: str, *phashes: str, kind: str = "import") -> ManifestEvent:
    type_ = EventType.FILE_IMPORTED if kind == "import" else EventType.CAPTURE_SEALED
    artifacts = [
        {"path": f"shot-{i}.png", "size": 1, "sha256": f"{seq:02d}{i:02d}" + "0" * 60,
         "media_type": "image/png", "phash": h}
        for i, h in enumerate(phashes)
    ]
    artifacts.append({"path": "provenance.json", "size": 1, "sha256": "f" * 64,
                      "media_type": "application/json", "phash": None})
    return ManifestEvent(
        seq=seq,
        time=f"2024-05-01T12:00:{seq:02d}.000Z",
        type=type_,
        subject={"path": item, "kind": kind, "root_hash": "0" * 64, "artifacts": artifacts},
        actor=Actor(station="s"),
        prev=ZERO_HASH,
    )


def test_find_similar_single_linkage_and_same_item():
    a, b, c = "0000000000000000", "000000000000001f", "00000000000003ff"  # a-b 5, b-c 5, a-c 10
    far = "ffffffffffffffff"
    events = [
        event(3, "x", b),
        event(2, "w", a, a),  # one item's two identical shots do not group on their own
        event(4, "y", c, kind="capture"),
        event(5, "z", far),
        ManifestEvent(seq=6, time="2024-05-01T12:00:06.000Z", type=EventType.NOTE_ADDED,
                      subject={"text": "t", "about": None}, actor=Actor(station="s"), prev=ZERO_HASH),
    ]
    groups = find_similar(events, 5)
    assert len(groups) == 1
    members = groups[0].members
    assert [(m.image.item, m.image.artifact) for m in members] == [
        ("w", "shot-0.png"), ("w", "shot-1.png"), ("x", "shot-0.png"), ("y", "shot-0.png")
    ]
    assert [m.distance for m in members] == [0, 0, 5, 10]
    assert find_similar(events, 4) == []
    assert find_similar([event(1, "w", a, a)], 8) == []
    assert len(find_similar([event(1, "w", a), event(2, "v", a)], 0)) == 1


def brute_force(events: list[ManifestEvent], threshold: int) -> set[frozenset[tuple[str, str]]]:
    images = [(e.subject["path"], a["path"], int(a["phash"], 16))
              for e in events for a in e.subject["artifacts"] if a["phash"]]
    parent = list(range(len(images)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, j in combinations(range(len(images)), 2):
        if images[i][0] != images[j][0] and (images[i][2] ^ images[j][2]).bit_count() <= threshold:
            parent[find(i)] = find(j)
    groups: dict[int, set[tuple[str, str]]] = {}
    for i, img in enumerate(images):
        groups.setdefault(find(i), set()).add(img[:2])
    return {frozenset(g) for g in groups.values() if len(g) > 1}


@pytest.mark.parametrize("threshold", [0, 3, 8, 20])
def test_find_similar_matches_brute_force(threshold):
    rng = random.Random(threshold)
    centres = [rng.getrandbits(64) for _ in range(12)]
    events = []
    for seq in range(1, 151):
        shots = []
        for _ in range(rng.choice([1, 1, 2])):
            value = rng.choice(centres)
            for _ in range(rng.randrange(0, 7)):
                value ^= 1 << rng.randrange(64)
            shots.append(f"{value:016x}")
        events.append(event(seq, f"item{seq % 97}", *shots))  # some items sealed twice
    # the first event that sealed an (item, artifact) counts, as find_similar does
    seen, firsts = set(), []
    for e in events:
        arts = [a for a in e.subject["artifacts"] if (e.subject["path"], a["path"]) not in seen]
        seen.update((e.subject["path"], a["path"]) for a in arts)
        firsts.append(e.model_copy(update={"subject": {**e.subject, "artifacts": arts}}))
    got = {frozenset((m.image.item, m.image.artifact) for m in g.members)
           for g in find_similar(events, threshold)}
    expected = brute_force(firsts, threshold)
    assert got == expected
    assert len(expected) >= 2 if threshold < 20 else len(expected) >= 1
