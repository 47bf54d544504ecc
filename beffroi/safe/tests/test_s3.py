"""The safe on S3-compatible object storage, against a local S3 server (moto in
server mode, over HTTP): documents stored encrypted, served back whole, damage
refused, deleted with the document."""

import io
import socket
import zipfile
from datetime import timedelta

import boto3
import pytest
from botocore.response import StreamingBody
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from moto.server import ThreadedMotoServer

from beffroi.safe.models import Document
from beffroi.safe.services.documents import integrity_check, open_stored

BUCKET = "beffroi-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def s3(settings):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "eu-west-3"}
    client = boto3.client("s3", endpoint_url=endpoint, **credentials)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    settings.STORAGES = {**settings.STORAGES, "private": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": endpoint, "region_name": "eu-west-3", "access_key": "test",
                    "secret_key": "test", "location": "private", "querystring_auth": True, "default_acl": None},
    }}
    storages._storages.pop("private", None)
    yield client
    storages._storages.pop("private", None)
    server.stop()


def test_documents_on_s3(owner_client, s3, django_capture_on_commit_callbacks):
    content = b"%PDF-1.4\n" + b"S3-EN-CLAIR " * 300_000  # ~3.6 MB
    assert owner_client.post("/coffre/documents/ajouter/", {"fichier": SimpleUploadedFile("a.pdf", content)}).status_code == 302
    document = Document.objects.get()
    key = f"private/{document.storage_name}"
    stored = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert b"S3-EN-CLAIR" not in stored and len(stored) == document.stored_size
    response = owner_client.get(f"/coffre/documents/{document.pk}/fichier/")
    assert b"".join(response.streaming_content) == content
    # Read as the object's body arrives, not copied first into a temporary file (django-storages' S3File).
    with open_stored(document.storage_name) as stream:
        assert isinstance(stream, StreamingBody)
    export = owner_client.post("/coffre/mes-donnees/export/")
    with zipfile.ZipFile(io.BytesIO(b"".join(export.streaming_content))) as archive:
        assert archive.read("documents/a.pdf") == content
    assert integrity_check() == {"checked": 1, "failed": 0}

    damaged = bytearray(stored)
    damaged[-100] ^= 0xFF
    s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(damaged))
    assert owner_client.get(f"/coffre/documents/{document.pk}/fichier/").status_code == 409
    assert integrity_check(now=timezone.now() + timedelta(days=1)) == {"checked": 1, "failed": 1}
    s3.delete_object(Bucket=BUCKET, Key=key)  # lost from the bucket: a failed check, not a crash of the job
    assert integrity_check() == {"checked": 1, "failed": 1}
    s3.put_object(Bucket=BUCKET, Key=key, Body=stored)  # restored

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(f"/coffre/documents/{document.pk}/supprimer/")
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
