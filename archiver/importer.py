"""Import a file that has no URL to load (a phone screenshot, a screen recording of a
WhatsApp status) into a case, as a sealed item:

    <case>/imports/<YYYYmmddTHHMMSSZ>_<original stem>_<6 hex>/
        original<.ext>     the file's bytes, untouched (extension kept, lowercased)
        metadata.json      ImportMetadata: names, size, SHA-256, media type, pHash, EXIF ...
        seal.json, SHA256SUMS, timestamps/   (the sealer's, see docs/seal-format.md)

The folder is built as `imports/.incomplete-<name>` and renamed when the copy is verified
and metadata.json written, so an interrupted import never looks like a finished one. Only
then is it sealed (a `file-imported` event), so the event names the final path.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import unicodedata
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, UnidentifiedImageError

from .config import Settings
from .errors import UserError
from .models import EventType, ImportMetadata
from .seal.case import Case
from .seal.hashing import IMAGE_TYPES, media_type, perceptual_hash
from .storage.digest import CHUNK, sha256_file
from .seal.sealer import SealResult, seal_item
from .storage.atomic import atomic_write_model, fsync_dir

IMPORTS_DIR = "imports"
INCOMPLETE_PREFIX = ".incomplete-"
ORIGINAL_STEM = "original"
METADATA_NAME = "metadata.json"
MAX_STEM = 60

# EXIF tags kept (by name, from the main IFD and the Exif sub-IFD); all GPS tags are kept.
EXIF_TAGS = (
    "DateTimeOriginal",
    "DateTimeDigitized",
    "DateTime",
    "OffsetTimeOriginal",
    "OffsetTimeDigitized",
    "OffsetTime",
    "SubsecTimeOriginal",
    "Make",
    "Model",
    "Software",
    "LensMake",
    "LensModel",
    "Orientation",
    "ImageDescription",
    "Artist",
    "UserComment",
    "ExifImageWidth",
    "ExifImageHeight",
)
MAX_EXIF_VALUE = 1000  # characters; longer values are cut (and say so)


def check_source(source: Path) -> None:
    """A UserError unless `source` is a non-empty regular file we can read."""
    try:
        info = source.stat()
    except FileNotFoundError:
        raise UserError(f"{source}: no such file") from None
    except PermissionError:
        raise UserError(f"{source}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise UserError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{source} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{source} is not a regular file")
    if info.st_size == 0:
        raise UserError(f"{source} is empty (0 bytes)")
    try:
        with open(source, "rb") as fh:
            fh.read(1)
    except PermissionError:
        raise UserError(f"{source}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise UserError(f"{source}: cannot be read ({exc.strerror or exc})") from None


def safe_stem(name: str) -> str:
    """The original file's stem as a folder-name part: ASCII letters, digits, '.', '_', '-'."""
    stem = Path(name).stem if Path(name).suffix else name
    ascii_only = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_only).strip("._-")
    return cleaned[:MAX_STEM].rstrip("._-") or "file"


def stored_name(name: str) -> str:
    """`original` plus the original extension, lowercased (only if it is a plain one)."""
    suffix = Path(name).suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,10}", suffix):
        suffix = ""
    return ORIGINAL_STEM + suffix


def utc_iso(moment: datetime) -> str:
    """The manifest's time format: YYYY-MM-DDTHH:MM:SS.mmmZ."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def copy_verified(source: Path, dest: Path) -> tuple[str, int]:
    """Copy the bytes in chunks, hashing what was read; fsync; then re-read the copy and
    check its SHA-256 and size against the source's. Returns (sha256, size)."""
    before = source.stat()
    digest = hashlib.sha256()
    size = 0
    try:
        with open(source, "rb") as src, open(dest, "xb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
    except OSError as exc:
        raise UserError(f"{source}: copy failed ({exc.strerror or exc})") from None
    after = source.stat()
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or size != after.st_size:
        raise UserError(f"{source} changed while it was being imported", hint="try again when it is finished")
    source_sha = digest.hexdigest()
    copy_sha, copy_size = sha256_file(dest)
    if (copy_sha, copy_size) != (source_sha, size):
        raise UserError(
            f"{source}: the copy does not match the original "
            f"(sha256 {copy_sha[:16]}… vs {source_sha[:16]}…)",
            hint="check the disk",
        )
    return source_sha, size


def _exif_text(value: Any) -> str:
    if isinstance(value, bytes):
        # UserComment starts with an 8-byte character-code header
        for header in (b"ASCII\x00\x00\x00", b"UNICODE\x00", b"\x00" * 8):
            if value.startswith(header):
                body = value[8:]
                text = body.decode("utf-16" if header.startswith(b"UNICODE") else "utf-8", "replace")
                break
        else:
            text = value.decode("utf-8", "replace")
    elif isinstance(value, tuple):
        text = ", ".join(_exif_text(v) for v in value)
    elif isinstance(value, float) or hasattr(value, "denominator"):
        number = float(value)
        text = str(int(number)) if number.is_integer() else repr(round(number, 8))
    else:
        text = str(value)
    text = text.replace("\x00", "").strip()
    if len(text) > MAX_EXIF_VALUE:
        text = text[:MAX_EXIF_VALUE] + "…(cut)"
    return text


def read_exif(path: Path) -> dict[str, str]:
    """EXIF facts of an image (as strings), plus its decoded pixel size as ImageWidth and
    ImageHeight. Empty when the file is not an image Pillow can read."""
    facts: dict[str, str] = {}
    try:
        with Image.open(path) as img:
            facts["ImageWidth"], facts["ImageHeight"] = str(img.width), str(img.height)
            exif = img.getexif()
            tags: dict[int, Any] = dict(exif)
            try:
                tags.update(exif.get_ifd(ExifTags.IFD.Exif))
            except (KeyError, ValueError, TypeError, OSError):
                pass
            try:
                gps = dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
            except (KeyError, ValueError, TypeError, OSError):
                gps = {}
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return {}
    for tag_id, value in tags.items():
        name = ExifTags.TAGS.get(tag_id)
        if name in EXIF_TAGS:
            text = _exif_text(value)
            if text:
                facts[name] = text
    for tag_id, value in gps.items():
        name = ExifTags.GPSTAGS.get(tag_id, f"GPSTag{tag_id}")
        text = _exif_text(value)
        if text:
            facts[name if name.startswith("GPS") else f"GPS{name}"] = text
    return facts


def item_name(original_name: str, started: datetime) -> str:
    return f"{started:%Y%m%dT%H%M%SZ}_{safe_stem(original_name)}_{uuid.uuid4().hex[:6]}"


def import_file(
    case: Case,
    source: Path,
    settings: Settings,
    source_url: str | None = None,
    note: str | None = None,
) -> SealResult:
    """Copy `source` into a new item folder of the case, describe it, seal it."""
    source = Path(source)
    check_source(source)
    started = datetime.now(timezone.utc)
    original_name = source.name
    name = item_name(original_name, started)
    imports = case.folder / IMPORTS_DIR
    imports.mkdir(exist_ok=True)
    work_dir = imports / f"{INCOMPLETE_PREFIX}{name}"
    final_dir = imports / name
    work_dir.mkdir()
    try:
        stored = stored_name(original_name)
        sha256, size = copy_verified(source, work_dir / stored)
        kind = media_type(work_dir / stored)
        is_image = kind in IMAGE_TYPES
        mtime = datetime.fromtimestamp(source.stat().st_mtime, timezone.utc)
        metadata = ImportMetadata(
            original_name=original_name,
            stored_as=stored,
            size=size,
            sha256=sha256,
            media_type=kind,
            phash=perceptual_hash(work_dir / stored) if is_image else None,
            imported=utc_iso(started),
            source_url=source_url,
            note=note,
            operator=case.operator,
            file_mtime=utc_iso(mtime),
            exif=read_exif(work_dir / stored) if kind.startswith("image/") else {},
        )
        atomic_write_model(work_dir / METADATA_NAME, metadata)
        fsync_dir(work_dir)
        work_dir.rename(final_dir)
        fsync_dir(imports)
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)  # nothing sealed yet: leave no debris
        raise
    return seal_item(
        case,
        final_dir,
        EventType.FILE_IMPORTED,
        {"kind": "import", "original_name": original_name},
        settings.timestamp,
    )
