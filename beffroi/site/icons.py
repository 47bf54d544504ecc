"""Application icons of a commune: its coat of arms, or its initial on its colour."""

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

ICON_SIZES = (192, 512)


@lru_cache(maxsize=64)
def initial_icon(name: str, colour: str, size: int) -> bytes:
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=int(size * 0.55))
    letter = (name.strip()[:1] or "B").upper()
    draw.text((size / 2, size / 2), letter, fill="#ffffff", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def coat_of_arms_icon(data: bytes, size: int) -> bytes:
    with Image.open(io.BytesIO(data)) as source:
        source = source.convert("RGBA")
        source.thumbnail((int(size * 0.8), int(size * 0.8)))
        canvas = Image.new("RGBA", (size, size), (255, 255, 255, 255))
        canvas.paste(source, ((size - source.width) // 2, (size - source.height) // 2), source)
    buffer = io.BytesIO()
    canvas.convert("RGB").save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
