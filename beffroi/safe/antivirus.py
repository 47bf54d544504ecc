"""Scanning uploads with a ClamAV daemon (clamd), when one is configured.

The upload is already encrypted in its temporary file; it is decrypted chunk
by chunk and streamed to clamd with the INSTREAM command, so nothing in clear
touches the disk. With ``CLAMAV_SOCKET`` (a Unix socket path) or
``CLAMAV_ADDRESS`` ("host:port") set, every upload is scanned before it is
stored, and an upload that cannot be scanned is refused (fail closed).
"""

import socket
import struct
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError

TIMEOUT = 60
MAX_REPLY = 4096


def configured() -> bool:
    return bool(settings.CLAMAV_SOCKET or settings.CLAMAV_ADDRESS)


def _connect() -> socket.socket:
    if settings.CLAMAV_SOCKET:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        sock.connect(settings.CLAMAV_SOCKET)
        return sock
    host, _, port = settings.CLAMAV_ADDRESS.rpartition(":")
    return socket.create_connection((host, int(port)), timeout=TIMEOUT)


def scan(chunks: Iterable[bytes]) -> str | None:
    """The name of what clamd found, or None when the content is clean."""
    try:
        with _connect() as sock:
            sock.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), 1 << 20):
                    part = chunk[start:start + (1 << 20)]
                    sock.sendall(struct.pack(">I", len(part)) + part)
            sock.sendall(struct.pack(">I", 0))
            reply = b""
            while not reply.endswith(b"\0") and len(reply) < MAX_REPLY:
                data = sock.recv(MAX_REPLY)
                if not data:
                    break
                reply += data
    except OSError as exc:
        raise ValidationError("L’analyse antivirus n’a pas pu être faite : réessayez dans un instant.") from exc
    text = reply.rstrip(b"\0").decode("utf-8", "replace")
    if text.endswith(" OK"):
        return None
    if text.endswith(" FOUND"):
        return text.removeprefix("stream: ").removesuffix(" FOUND")
    raise ValidationError("L’analyse antivirus n’a pas abouti : réessayez dans un instant.")


def check_upload(upload, context: bytes) -> None:
    """Refuse ``upload`` (an EncryptedUpload) if clamd finds something in it."""
    if not configured():
        return
    from beffroi.safe.crypto import decrypt_stream

    upload.file.seek(0)
    found = scan(decrypt_stream(upload.file, key=upload.key, context=context))
    if found:
        raise ValidationError({"fichier": f"Ce fichier contient un logiciel malveillant ({found}) : il n’a pas été "
                                          "enregistré."})
