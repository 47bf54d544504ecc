"""Uploaded images keep their pixels and nothing else."""

import io

import pillow_heif
import pytest
from PIL import Image

from beffroi.core.images import ImageRejected, sanitize_image

GPS_IFD = 0x8825
SERIAL = 0xA431  # BodySerialNumber


def _photo_with_metadata(fmt="JPEG", size=(2400, 1600)) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "TelephoneTemoin"  # Make
    exif[0x0112] = 6  # Orientation: rotated
    exif[SERIAL] = "NUMERO-SERIE-12345"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (50.0, 30.0, 27.0), 3: "E", 4: (2.0, 47.0, 43.0)})
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description>AUTEUR-TEMOIN</rdf:Description></x:xmpmeta>'
    buffer = io.BytesIO()
    if fmt == "HEIF":
        heif = pillow_heif.from_pillow(image)
        heif.save(buffer, exif=exif.tobytes())
    else:
        image.save(buffer, fmt, exif=exif.tobytes(), xmp=xmp)
    return buffer.getvalue()


def _assert_clean(data: bytes):
    assert b"TelephoneTemoin" not in data
    assert b"NUMERO-SERIE" not in data
    assert b"AUTEUR-TEMOIN" not in data
    assert b"Exif" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "photoshop"} & set(image.info)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "HEIF"])
def test_every_metadata_field_is_removed(fmt):
    clean = sanitize_image(_photo_with_metadata(fmt))
    _assert_clean(clean.master)
    for data in clean.renditions.values():
        _assert_clean(data)


def test_the_photo_is_turned_upright_and_resized():
    clean = sanitize_image(_photo_with_metadata(size=(2400, 1600)))
    # EXIF orientation 6 means "rotate 90°": the portrait result is applied.
    assert (clean.width, clean.height) == (1600, 2400)
    assert sorted(clean.renditions) == [480, 960, 1600]
    with Image.open(io.BytesIO(clean.renditions[480])) as small:
        assert small.format == "WEBP" and small.width == 480


def test_a_wide_photo_is_narrowed_to_1600_pixels():
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 1000), "white").save(buffer, "JPEG")
    clean = sanitize_image(buffer.getvalue())
    assert (clean.width, clean.height) == (1600, 400)


def test_a_small_image_is_not_enlarged():
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "white").save(buffer, "PNG")
    clean = sanitize_image(buffer.getvalue())
    assert sorted(clean.renditions) == [300]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7 pas une image", "pas une image lisible"),
        (b"", "vide"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "pas une image lisible"),
    ],
)
def test_what_is_not_an_image_is_refused(data, message):
    with pytest.raises(ImageRejected, match=message):
        sanitize_image(data)


def test_a_truncated_image_is_refused():
    data = _photo_with_metadata()
    with pytest.raises(ImageRejected, match="incomplète ou endommagée"):
        sanitize_image(data[: len(data) // 2])


def test_a_decompression_bomb_is_refused(settings):
    settings.IMAGE_MAX_PIXELS = 4_000_000
    buffer = io.BytesIO()
    # 50 MP of one colour compresses to a few kilobytes.
    Image.new("1", (10_000, 5_000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(ImageRejected, match="trop grande"):
        sanitize_image(buffer.getvalue())


def test_an_oversized_file_is_refused(settings):
    settings.IMAGE_MAX_BYTES = 1000
    with pytest.raises(ImageRejected, match="trop lourde"):
        sanitize_image(_photo_with_metadata())
