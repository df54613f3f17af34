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


PHASH_SIZE = 8  # 64-bit hash
PHASH_SAMPLE = 32  # the image is reduced to 32x32 before the DCT


def _dct_rows():  # -> numpy.ndarray
    """The first PHASH_SIZE rows of the (unnormalised) DCT-II matrix for PHASH_SAMPLE points."""
    import numpy

    k = numpy.arange(PHASH_SIZE)[:, None]
    n = numpy.arange(PHASH_SAMPLE)[None, :]
    return 2.0 * numpy.cos(numpy.pi * k * (2 * n + 1) / (2 * PHASH_SAMPLE))


def perceptual_hash(path: Path) -> str | None:
    """imagehash's pHash (64 bits, 16 hex digits), bit for bit: grey, Lanczos to 32x32, 2-D
    DCT-II, the 8x8 lowest frequencies compared with their median. Computed here with numpy
    (imagehash needs scipy, whose import alone costs more than hashing a capture; the test
    suite checks both give the same hash). None when the file is not an image we can read
    safely."""
    try:
        with Image.open(path) as img:
            img.load()
            small = img.convert("L").resize((PHASH_SAMPLE, PHASH_SAMPLE), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return None  # sealed by SHA-256 alone
    import numpy  # only when an image is hashed

    rows = _dct_rows()
    low = rows @ numpy.asarray(small, dtype=numpy.float64) @ rows.T
    bits = (low > numpy.median(low)).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"
