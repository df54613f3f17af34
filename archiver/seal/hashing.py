"""Artifact facts: SHA-256 streamed in 1 MiB chunks, media type, perceptual hash of images."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from PIL import Image, UnidentifiedImageError

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp", "image/tiff")

EXTRA_TYPES = {
    ".warc.gz": "application/warc",
    ".warc": "application/warc",
    ".jsonl": "application/x-ndjson",
    ".tsr": "application/timestamp-reply",
    ".pem": "application/x-pem-file",
    ".heic": "image/heic",
    ".webp": "image/webp",
}


def media_type(path: Path) -> str:
    name = path.name.lower()
    for suffix, kind in EXTRA_TYPES.items():
        if name.endswith(suffix):
            return kind
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def perceptual_hash(path: Path) -> str | None:
    """imagehash pHash (64 bits, hex) of an image; None when it is not a readable image."""
    import imagehash  # numpy/scipy import is slow: only when an image is hashed

    try:
        with Image.open(path) as img:
            img.load()
            return str(imagehash.phash(img))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return None  # not an image we can read safely: sealed by SHA-256 alone
