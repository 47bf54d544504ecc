"""Uploaded images: checked by content, re-encoded, stripped of every metadata.

Nothing of the uploaded file is kept but its pixels: the image is decoded,
turned upright (EXIF orientation), copied into a fresh image that carries no
EXIF, XMP, IPTC, ICC profile or thumbnail, then encoded again at a few widths.
"""

import io
import warnings
from dataclasses import dataclass, field

import pillow_heif
from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF", "GIF", "MPO"}
RENDITION_WIDTHS = (480, 960, 1600)
MASTER_MAX_WIDTH = 1600


class ImageRejected(ValueError):
    """The upload is not an image we accept; the message is for the user."""


@dataclass
class CleanImage:
    width: int
    height: int
    master: bytes  # JPEG, for feeds and social previews
    renditions: dict[int, bytes] = field(default_factory=dict)  # width → WebP


def _open(data: bytes) -> Image.Image:
    max_pixels = settings.IMAGE_MAX_PIXELS
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected("Ce fichier n’est pas une image lisible (formats acceptés : JPEG, PNG, WebP, HEIC).") from exc
        if image.format not in ACCEPTED_FORMATS:
            raise ImageRejected("Format d’image non accepté : utilisez JPEG, PNG, WebP ou HEIC.")
        if image.width * image.height > max_pixels:
            raise ImageRejected(
                f"Image trop grande ({image.width} × {image.height} pixels) : "
                f"au plus {max_pixels // 1_000_000} millions de pixels."
            )
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected("Cette image est incomplète ou endommagée : elle n’a pas pu être lue.") from exc
    return image


def _pixels_only(image: Image.Image) -> Image.Image:
    """A new RGB image holding the pixels and nothing else."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    else:
        image = image.convert("RGB")
    return Image.frombytes("RGB", image.size, image.tobytes())


def _resized(image: Image.Image, width: int) -> Image.Image:
    if image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def check_upload_size(size: int) -> None:
    """Before reading an upload: a huge file is refused without loading it."""
    if size > settings.IMAGE_MAX_BYTES:
        raise ImageRejected(f"Image trop lourde : au plus {settings.IMAGE_MAX_BYTES // (1024 * 1024)} Mo.")


def sanitize_image(data: bytes) -> CleanImage:
    check_upload_size(len(data))
    if not data:
        raise ImageRejected("Le fichier envoyé est vide.")
    clean = _pixels_only(_open(data))

    master = _resized(clean, MASTER_MAX_WIDTH)
    buffer = io.BytesIO()
    master.save(buffer, "JPEG", quality=85, optimize=True, progressive=True)
    result = CleanImage(width=master.width, height=master.height, master=buffer.getvalue())

    widths = [w for w in RENDITION_WIDTHS if w < clean.width] + [min(clean.width, RENDITION_WIDTHS[-1])]
    for width in sorted(set(widths)):
        buffer = io.BytesIO()
        _resized(clean, width).save(buffer, "WEBP", quality=80, method=4)
        result.renditions[width] = buffer.getvalue()
    return result
