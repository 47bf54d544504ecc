"""Receiving a document: encrypted as it arrives, never written in clear.

``EncryptingUploadHandler`` takes the upload's pieces as Django's multipart
parser reads them from the socket, encrypts them with the new document's own
key into a temporary file (ciphertext only), and keeps the SHA-256 of the
original and its first bytes, from which the type is decided. Memory stays at
one chunk whatever the file's size.
"""

import tempfile
import uuid

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers, StopUpload

from beffroi.safe.crypto import StreamEncryptor, new_key

FIELD = "fichier"
HEAD_BYTES = 64

# Types accepted, recognised by their first bytes (what the client declares is not trusted).
PDF, JPEG, PNG, HEIC = "application/pdf", "image/jpeg", "image/png", "image/heic"
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png", HEIC: "heic"}


def sniff(head: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return HEIC
    return None


class EncryptedUpload(UploadedFile):
    """The ciphertext of an upload in a temporary file, with what was learnt on the way."""

    def __init__(self, file, *, name, size, stored_size, sha256, content_type, document_id, key):
        super().__init__(file, name=name, content_type=content_type, size=size)
        self.stored_size = stored_size
        self.sha256 = sha256
        self.document_id = document_id
        self.key = key

    def temporary_file_path(self):
        return self.file.name

    def close(self):
        # The storage may have moved the file (as for Django's temporary uploads).
        try:
            return self.file.close()
        except FileNotFoundError:
            return None


class EncryptingUploadHandler(FileUploadHandler):
    chunk_size = 1 << 20

    def __init__(self, request, *, safe_id: int, limit: int):
        super().__init__(request)
        self.safe_id = safe_id
        self.limit = limit
        self.too_big = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # Refused before reading when the request says it is too large.
        if content_length and content_length > self.limit + 64 * 1024:
            self.too_big = True
            raise StopUpload(connection_reset=False)

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != FIELD:
            return
        self.document_id = uuid.uuid4()
        self.key = new_key()
        context = f"document:{self.document_id}:safe:{self.safe_id}".encode()
        self.encryptor = StreamEncryptor(self.key, context)
        self.temp = tempfile.NamedTemporaryFile(
            prefix="beffroi-safe-", suffix=".enc", dir=settings.FILE_UPLOAD_TEMP_DIR
        )
        self.head = b""
        self.received = 0
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        if self.field_name != FIELD:
            return raw_data
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_big = True
            self.temp.close()
            raise StopUpload(connection_reset=False)
        if len(self.head) < HEAD_BYTES:
            self.head += raw_data[: HEAD_BYTES - len(self.head)]
        self.temp.write(self.encryptor.update(raw_data))
        return None

    def file_complete(self, file_size):
        if self.field_name != FIELD:
            return None
        self.temp.write(self.encryptor.finalize())
        self.temp.flush()
        self.temp.seek(0)
        result = self.encryptor.result
        return EncryptedUpload(
            self.temp, name=self.file_name, size=result.plaintext_size, stored_size=result.ciphertext_size,
            sha256=result.sha256, content_type=sniff(self.head), document_id=self.document_id, key=self.key,
        )
