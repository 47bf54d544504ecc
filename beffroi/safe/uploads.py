"""Receiving a document: encrypted as it arrives, never written in clear.

Two doors, one sealer: the page's uploader sends the file as the request's
body (``receive_body``: read in 1 MiB pieces, no parsing at all), the form
posted without scripts sends it multipart (``EncryptingUploadHandler``, fed by
Django's parser). Either way each piece is encrypted with the new document's
own key into a temporary file (ciphertext only), and the SHA-256 of the
original and its first bytes, from which the type is decided, are kept on the
way. Memory stays at one piece whatever the file's size.
"""

import tempfile
import uuid

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers, StopUpload
from django.http import UnreadablePostError

from beffroi.edge.bodies import await_body, declared_length
from beffroi.safe.crypto import StreamEncryptor, new_key

FIELD = "fichier"
# The uploader sends the form's other fields (and the file's name) URL-encoded in this header rather than in the
# address: names of documents are private, and addresses end up in access logs.
DETAILS_HEADER = "X-Document"
HEAD_BYTES = 64
MULTIPART_OVERHEAD = 64 * 1024  # the form's other fields and boundaries around the file
CHUNK = 1 << 20
NO_ROOM = "Espace insuffisant dans le coffre : supprimez des documents ou demandez plus d’espace."

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


class _Sealer:
    """One document's encryption into a temporary file (ciphertext only), with
    the SHA-256, size and first bytes of the original learnt on the way."""

    def __init__(self, safe_id: int):
        self.document_id = uuid.uuid4()
        self.key = new_key()
        self.encryptor = StreamEncryptor(self.key, f"document:{self.document_id}:safe:{safe_id}".encode())
        self.temp = tempfile.NamedTemporaryFile(prefix="beffroi-safe-", suffix=".enc", dir=settings.FILE_UPLOAD_TEMP_DIR)
        self.head = b""
        self.received = 0

    def add(self, data: bytes) -> None:
        self.received += len(data)
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        self.temp.write(self.encryptor.update(data))

    def finish(self, name: str) -> EncryptedUpload:
        self.temp.write(self.encryptor.finalize())
        self.temp.flush()
        self.temp.seek(0)
        result = self.encryptor.result
        return EncryptedUpload(
            self.temp, name=name, size=result.plaintext_size, stored_size=result.ciphertext_size,
            sha256=result.sha256, content_type=sniff(self.head), document_id=self.document_id, key=self.key,
        )

    def discard(self) -> None:
        self.temp.close()  # a NamedTemporaryFile: closing removes it


class EncryptingUploadHandler(FileUploadHandler):
    """For the form posted without scripts (multipart)."""

    chunk_size = CHUNK

    def __init__(self, request, *, safe_id: int, limit: int):
        super().__init__(request)
        self.safe_id = safe_id
        self.limit = limit
        self.too_big = False

    def announced_too_big(self, content_length: int | None) -> bool:
        return bool(content_length) and content_length > self.limit + MULTIPART_OVERHEAD

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # Refused before reading when the request says it is too large.
        if self.announced_too_big(content_length):
            self.too_big = True
            raise StopUpload(connection_reset=False)

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != FIELD:
            return
        self.sealer = _Sealer(self.safe_id)
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        if self.field_name != FIELD:
            return raw_data
        if self.sealer.received + len(raw_data) > self.limit:
            self.too_big = True
            self.sealer.discard()
            raise StopUpload(connection_reset=False)
        self.sealer.add(raw_data)
        return None

    def file_complete(self, file_size):
        if self.field_name != FIELD:
            return None
        return self.sealer.finish(self.file_name)


class UploadRefused(Exception):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


def max_document_bytes() -> int:
    return settings.SAFE_MAX_DOCUMENT_MB * 1024 * 1024


def max_multipart_bytes() -> int:
    return max_document_bytes() + MULTIPART_OVERHEAD




def too_heavy(limit: int) -> str:
    return f"Fichier trop lourd : {limit // (1024 * 1024)} Mo au plus."


def receive_body(request, *, safe_id: int, limit: int, room: int, name: str) -> EncryptedUpload:
    """The request's body is the file itself (as the page's uploader sends it):
    read and encrypted in 1 MiB pieces, with no multipart parsing. Raises
    UploadRefused, having kept nothing, when the body is missing, larger than
    ``limit`` or than the ``room`` left in the safe (both from the declared
    length, before reading), or cut short."""
    length = declared_length(request)
    if length is None:
        raise UploadRefused("La taille du fichier n’est pas indiquée (en-tête Content-Length).", 411)
    if length > limit:
        raise UploadRefused(too_heavy(limit), 413)
    if length > room:
        raise UploadRefused(NO_ROOM, 413)
    if length <= 0:
        raise UploadRefused("Choisissez un fichier à déposer.", 400)
    await_body(request)  # in the edge's preflight, everything above has been checked
    sealer = _Sealer(safe_id)
    try:
        while sealer.received < length:
            data = request.read(min(CHUNK, length - sealer.received))
            if not data:
                raise UploadRefused("L’envoi a été interrompu : réessayez.", 400)
            sealer.add(data)
        return sealer.finish(name)
    except UnreadablePostError:
        sealer.discard()
        raise UploadRefused("L’envoi a été interrompu : réessayez.", 400) from None
    except BaseException:
        sealer.discard()
        raise
