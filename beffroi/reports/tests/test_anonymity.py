"""Nothing identifying is stored: not the IP, not the user agent, not a photo's metadata."""

import io

from django.apps import apps
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from beffroi.reports.models import Report, ReportPhoto

IP = "198.51.100.23"
USER_AGENT = "TelephoneTemoin/9.9 (Numero-de-serie-XYZ)"
CAMERA = "AppareilTemoin"
SERIAL = "SERIE-987654"


def _photo_with_everything() -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = CAMERA
    exif[0xA431] = SERIAL
    exif.get_ifd(0x8825).update({1: "N", 2: (50.0, 30.0, 18.0), 3: "E", 4: (2.0, 47.0, 42.0)})
    Image.new("RGB", (1200, 900), (30, 120, 60)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def _all_text_in_database() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(str(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_a_scripted_submission_leaves_no_trace_of_its_author(client, territory, settings):
    response = client.post(
        "/signaler/",
        {
            "category": territory["pothole"].pk, "description": "Trou", "latitude": "50.505", "longitude": "2.795",
            "photos": [SimpleUploadedFile("IMG_0001.jpg", _photo_with_everything(), "image/jpeg")],
        },
        REMOTE_ADDR=IP,
        HTTP_USER_AGENT=USER_AGENT,
        HTTP_X_FORWARDED_FOR=IP,
    )
    token_page = response["Location"]
    client.post(token_page, {"text": "Précision"}, REMOTE_ADDR=IP, HTTP_USER_AGENT=USER_AGENT)
    assert Report.objects.count() == 1

    stored = _all_text_in_database()
    for secret in (IP, USER_AGENT, "IMG_0001"):
        assert secret not in stored, f"{secret!r} was stored"
    private = storages["private"]
    photo = ReportPhoto.objects.get()
    for name in [photo.image, *photo.renditions.values()]:
        with private.open(name, "rb") as handle:
            data = handle.read()
        for secret in (CAMERA.encode(), SERIAL.encode(), b"Exif", IP.encode()):
            assert secret not in data
    # And the token itself is nowhere in the database, only its hash.
    assert token_page.split("/")[2] not in stored
