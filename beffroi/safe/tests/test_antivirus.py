"""Uploads scanned by clamd (INSTREAM), against a small clamd that speaks the
same protocol and flags the EICAR test string."""

import socketserver
import struct
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from beffroi.safe.models import Document

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class _Clamd(socketserver.BaseRequestHandler):
    def handle(self):
        command = b""
        while not command.endswith(b"\0"):
            command += self.request.recv(1)
        assert command == b"zINSTREAM\0"
        content = b""
        while True:
            size = struct.unpack(">I", self._read(4))[0]
            if size == 0:
                break
            content += self._read(size)
        self.server.scanned.append(content)
        verdict = b"stream: Eicar-Test-Signature FOUND\0" if EICAR in content else b"stream: OK\0"
        self.request.sendall(verdict)

    def _read(self, size):
        data = b""
        while len(data) < size:
            data += self.request.recv(size - len(data))
        return data


@pytest.fixture
def clamd(settings):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Clamd)
    server.scanned = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.CLAMAV_ADDRESS = f"127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def _upload(client, content):
    return client.post("/coffre/documents/ajouter/", {"fichier": SimpleUploadedFile("x.pdf", content)})


def test_clean_uploads_are_scanned_in_clear_and_stored(owner_client, clamd):
    content = b"%PDF-1.4\n" + b"propre " * 400_000  # ~2.8 MB: several chunks to clamd
    _upload(owner_client, content)
    assert clamd.scanned == [content]
    assert Document.objects.count() == 1


def test_infected_uploads_are_refused_and_nothing_is_stored(owner_client, clamd):
    response = _upload(owner_client, b"%PDF-1.4\n" + EICAR + b"\n%%EOF")
    assert response.status_code == 302
    assert not Document.objects.exists()
    page = owner_client.get(response["Location"]).content.decode()
    assert "logiciel malveillant (Eicar-Test-Signature)" in page


def test_an_unreachable_clamd_refuses_the_upload(owner_client, settings):
    settings.CLAMAV_ADDRESS = "127.0.0.1:9"  # nothing listens there
    _upload(owner_client, b"%PDF-1.4\nrien\n")
    assert not Document.objects.exists()
