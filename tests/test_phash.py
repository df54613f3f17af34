"""Our pHash is imagehash's pHash, bit for bit (we compute it without scipy)."""

from __future__ import annotations

import imagehash
import pytest
from PIL import Image, ImageDraw

from archiver.seal.hashing import perceptual_hash


def _picture(path, size, text, seed):
    img = Image.new("RGB", size, (20 + seed * 30 % 200, 90, 160))
    draw = ImageDraw.Draw(img)
    for i in range(12):
        x, y = i * size[0] // 14, (i * 37 + seed * 11) % size[1]
        draw.rectangle([x, y, x + 40, max(y, size[1] - 5)], fill=(255 - i * 15, 40 + i * 10, seed * 20 % 255))
    draw.text((10, 10), text, fill=(255, 255, 255))
    img.save(path)


@pytest.mark.parametrize("size,seed", [((1600, 900), 1), ((360, 640), 2), ((1600, 20000), 3), ((33, 31), 4), ((800, 800), 5)])
def test_same_bits_as_imagehash(tmp_path, size, seed):
    path = tmp_path / "x.png"
    _picture(path, size, f"{seed * 12} likes", seed)
    with Image.open(path) as img:
        expected = str(imagehash.phash(img))
    assert perceptual_hash(path) == expected


def test_not_an_image(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"not a png")
    assert perceptual_hash(path) is None
