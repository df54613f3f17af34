"""Regenerate the demo site's images with Pillow.

The generated files are committed under ``site/media``; run this only to change
them: ``python -m archiver.demo.make_media``. Output is deterministic for a
given Pillow version.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

MEDIA_DIR = Path(__file__).with_name("site") / "media"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
)


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


def vertical_gradient(size: tuple[int, int], top: tuple, bottom: tuple) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(height - 1, 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom))
        draw.line([(0, y), (width, y)], fill=colour)
    return image


def caption(draw: ImageDraw.ImageDraw, text: str, size: tuple[int, int]) -> None:
    width, height = size
    draw.rectangle([0, height - 44, width, height], fill=(0, 0, 0))
    draw.text((16, height - 36), text, font=font(20), fill=(255, 255, 255))


def photo_trail() -> Image.Image:
    """A 4x4 on a muddy forest trail, with a timestamp caption."""
    size = (600, 400)
    image = vertical_gradient(size, (120, 180, 235), (205, 230, 245))
    draw = ImageDraw.Draw(image)
    draw.ellipse([470, 40, 540, 110], fill=(255, 224, 120))  # sun
    draw.polygon([(0, 260), (140, 130), (290, 250), (420, 120), (600, 240), (600, 400), (0, 400)],
                 fill=(56, 120, 70))
    for x in range(20, 600, 70):  # trees
        draw.polygon([(x, 250), (x + 22, 185), (x + 44, 250)], fill=(30, 86, 48))
    draw.polygon([(0, 400), (230, 270), (380, 270), (600, 400)], fill=(120, 86, 52))  # trail
    draw.rectangle([205, 230, 395, 300], fill=(190, 40, 40))  # vehicle body
    draw.rectangle([245, 190, 355, 235], fill=(160, 30, 30))  # cabin
    draw.rectangle([258, 198, 342, 228], fill=(170, 210, 235))  # windows
    for cx in (245, 355):
        draw.ellipse([cx - 32, 272, cx + 32, 336], fill=(25, 25, 25))
        draw.ellipse([cx - 12, 292, cx + 12, 316], fill=(150, 150, 150))
    draw.text((232, 244), "B 1234 OR", font=font(22), fill=(255, 255, 255))
    caption(draw, "Jalur Cibodas · Selasa 12/03 · 08.12 WIB", size)
    return image


def photo_office() -> Image.Image:
    """An office building with a clock showing half past ten."""
    size = (600, 400)
    image = vertical_gradient(size, (170, 200, 230), (235, 240, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 330, 600, 400], fill=(110, 110, 115))  # road
    draw.rectangle([120, 90, 480, 340], fill=(226, 214, 190))  # building
    draw.polygon([(100, 95), (300, 30), (500, 95)], fill=(150, 60, 45))  # roof
    for row in range(3):
        for col in range(6):
            x, y = 140 + col * 56, 160 + row * 56
            draw.rectangle([x, y, x + 36, y + 36], fill=(90, 130, 170))
    draw.rectangle([275, 280, 325, 340], fill=(92, 64, 40))  # door
    draw.ellipse([262, 50, 338, 126], fill=(255, 255, 255), outline=(40, 40, 40), width=4)
    draw.line([(300, 88), (300, 120)], fill=(20, 20, 20), width=4)  # minute hand at :30
    draw.line([(300, 88), (282, 78)], fill=(20, 20, 20), width=5)  # hour hand past 10
    draw.text((150, 128), "KANTOR DINAS", font=font(22), fill=(60, 50, 40))
    draw.rectangle([14, 300, 112, 336], fill=(40, 40, 40))  # empty parking bay sign
    draw.text((22, 307), "KOSONG", font=font(17), fill=(255, 210, 0))
    caption(draw, "Parkir pejabat kosong · 10.30 WIB", size)
    return image


def avatar(initials: str, colour: tuple, size: int = 96) -> Image.Image:
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    text_font = font(size // 2 - 6)
    left, top, right, bottom = draw.textbbox((0, 0), initials, font=text_font)
    draw.text(((size - (right - left)) / 2 - left, (size - (bottom - top)) / 2 - top),
              initials, font=text_font, fill=(255, 255, 255))
    return image


def favicon() -> Image.Image:
    image = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle([0, 0, 31, 31], radius=8, fill=(16, 122, 87))
    draw.text((9, 3), "L", font=font(22), fill=(255, 255, 255))
    return image


def main() -> None:
    MEDIA_DIR.mkdir(parents=True, exist_ok=True)
    photo_trail().save(MEDIA_DIR / "photo-1.jpg", quality=85, optimize=True)
    photo_office().save(MEDIA_DIR / "photo-2.jpg", quality=85, optimize=True)
    avatar("RK", (16, 122, 87)).save(MEDIA_DIR / "avatar-rinakusuma.png", optimize=True)
    favicon().save(MEDIA_DIR.parent / "favicon.ico", sizes=[(32, 32)])
    for path in sorted(MEDIA_DIR.parent.rglob("*.*")):
        if path.suffix in {".jpg", ".png", ".ico"}:
            print(f"{path.relative_to(MEDIA_DIR.parent)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
