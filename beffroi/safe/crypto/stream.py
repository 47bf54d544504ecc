"""Chunked AES-256-GCM for files of any size, encrypted and decrypted as streams.

Layout::

    header  = b"BFSAFE" | version (1 byte) | chunk size (4 bytes, big-endian) | nonce prefix (8 random bytes)
    chunk i = AES-GCM ciphertext of plaintext chunk i | 16-byte tag

Every chunk but the last holds exactly ``chunk size`` bytes of plaintext; the
last holds 0 to ``chunk size`` bytes (0 only for an empty file) and is marked
final. Chunk ``i`` uses nonce ``prefix | i`` (4 bytes, big-endian) and its tag
authenticates ``header | i (4 bytes) | final (1 byte) | context``. So a chunk
only verifies at its own place, in its own file (random prefix, bound header),
for its own document (context); reordering, duplication, splicing from another
file, truncation and trailing bytes all fail a tag.
"""

import hashlib
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag

from .aead import TAG_SIZE, aes256gcm, check_context
from .errors import TamperedError

MAGIC = b"BFSAFE"
VERSION = 1
DEFAULT_CHUNK_SIZE = 1 << 20
# Bounds what a forged header can make the decryptor read into memory.
MAX_CHUNK_SIZE = 1 << 24
MAX_CHUNKS = 1 << 32  # the counter's 4 bytes

_HEADER = struct.Struct(">6sBI8s")
HEADER_SIZE = _HEADER.size
_CHUNK_LABEL = struct.Struct(">IB")  # index, final flag
_COUNTER = struct.Struct(">I")


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True)
class EncryptResult:
    plaintext_size: int
    ciphertext_size: int
    sha256: str  # hex digest of the plaintext


def ciphertext_size(plaintext_size: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    chunks = max(1, -(-plaintext_size // chunk_size))
    return HEADER_SIZE + plaintext_size + chunks * TAG_SIZE


def _check_chunk_size(chunk_size: int) -> int:
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"The chunk size must be between 1 and {MAX_CHUNK_SIZE} bytes.")
    return chunk_size


class StreamEncryptor:
    """Encrypts plaintext handed over in pieces of any size, e.g. by an upload handler.

    ``update()`` returns the ciphertext ready so far (possibly empty) and
    ``finalize()`` the rest; write both to the sink in order. The last full
    chunk is held back until more data or ``finalize()`` tells whether it is
    the final one, so at most one chunk of plaintext is buffered.
    """

    def __init__(self, key: bytes, context: bytes, *, chunk_size: int = DEFAULT_CHUNK_SIZE):
        self._aead = aes256gcm(key)
        self._context = check_context(context)
        self._chunk_size = _check_chunk_size(chunk_size)
        self._prefix = os.urandom(8)
        self._header = _HEADER.pack(MAGIC, VERSION, chunk_size, self._prefix)
        self._header_pending = True
        self._pending = bytearray()
        self._index = 0
        self._digest = hashlib.sha256()
        self._plaintext_size = 0
        self._ciphertext_size = 0
        self._result: EncryptResult | None = None

    def update(self, data: bytes) -> bytes:
        if self._result is not None:
            raise RuntimeError("This encryptor is finalized.")
        self._digest.update(data)
        self._plaintext_size += len(data)
        out = self._take_header()
        view = memoryview(data)
        pos = min(self._chunk_size - len(self._pending), len(view))
        self._pending += view[:pos]
        while pos < len(view):
            # More plaintext follows the held-back chunk, so it is not the last one.
            out.append(self._seal(final=False))
            self._pending = bytearray(view[pos : pos + self._chunk_size])
            pos += self._chunk_size
        return self._emit(out)

    def finalize(self) -> bytes:
        if self._result is not None:
            raise RuntimeError("This encryptor is finalized.")
        out = self._take_header()
        out.append(self._seal(final=True))
        data = self._emit(out)
        self._result = EncryptResult(self._plaintext_size, self._ciphertext_size, self._digest.hexdigest())
        return data

    @property
    def result(self) -> EncryptResult:
        if self._result is None:
            raise RuntimeError("The result is known once the encryptor is finalized.")
        return self._result

    def _take_header(self) -> list[bytes]:
        if not self._header_pending:
            return []
        self._header_pending = False
        return [self._header]

    def _seal(self, *, final: bool) -> bytes:
        if self._index >= MAX_CHUNKS:
            raise ValueError("Too many chunks for one stream: use a larger chunk size.")
        nonce = self._prefix + _COUNTER.pack(self._index)
        aad = self._header + _CHUNK_LABEL.pack(self._index, final) + self._context
        sealed = self._aead.encrypt(nonce, self._pending, aad)
        self._index += 1
        self._pending = bytearray()
        return sealed

    def _emit(self, parts: list[bytes]) -> bytes:
        # join() hands a single part back without copying it.
        data = b"".join(parts)
        self._ciphertext_size += len(data)
        return data


def encrypt_stream(
    source: Readable, sink: Writable, *, key: bytes, context: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> EncryptResult:
    """Encrypt ``source`` into ``sink``, hashing the plaintext in the same pass."""
    encryptor = StreamEncryptor(key, context, chunk_size=chunk_size)
    while piece := source.read(chunk_size):
        if data := encryptor.update(piece):
            sink.write(data)
    sink.write(encryptor.finalize())
    return encryptor.result


def decrypt_stream(source: Readable, *, key: bytes, context: bytes) -> Iterator[bytes]:
    """Decrypt ``source`` chunk by chunk, yielding each chunk once its tag verifies.

    The header and the first chunk are read and verified by this call itself,
    so a wrong key, a wrong context or a damaged start raise ``TamperedError``
    before anything is yielded. Damage further on is found only when iteration
    reaches it: the chunks before it are authentic and have been yielded, then
    ``TamperedError`` is raised. A view streaming them to a client has already
    sent its status line, so it must let the error abort the response (with a
    Content-Length set, the client then sees an incomplete download, not a
    shorter file).
    """
    chunks = _decrypt_chunks(source, aes256gcm(key), check_context(context))
    return _skip_empty(next(chunks), chunks)


def _skip_empty(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    del first
    for chunk in rest:
        if chunk:
            yield chunk


def _decrypt_chunks(source: Readable, aead, context: bytes) -> Iterator[bytes]:
    header = _read_exactly(source, HEADER_SIZE)
    if len(header) != HEADER_SIZE:
        raise TamperedError()
    magic, version, chunk_size, prefix = _HEADER.unpack(header)
    if magic != MAGIC or version != VERSION or not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise TamperedError()
    record_size = chunk_size + TAG_SIZE
    lookahead = b""
    for index in range(MAX_CHUNKS):
        record = lookahead + _read_exactly(source, record_size - len(lookahead))
        # A chunk is the final one exactly when nothing follows it; one byte is enough to tell.
        lookahead = _read_exactly(source, 1) if len(record) == record_size else b""
        final = not lookahead
        if len(record) < TAG_SIZE:
            raise TamperedError()
        nonce = prefix + _COUNTER.pack(index)
        aad = header + _CHUNK_LABEL.pack(index, final) + context
        try:
            plaintext = aead.decrypt(nonce, record, aad)
        except InvalidTag:
            raise TamperedError() from None
        del record
        yield plaintext
        if final:
            return
    raise TamperedError()


def _read_exactly(source: Readable, size: int) -> bytes:
    """Read ``size`` bytes, fewer only at end of file (``read()`` may return short pieces)."""
    data = source.read(size)
    if not data or len(data) == size:
        return data
    parts = [data]
    missing = size - len(data)
    while missing and (data := source.read(missing)):
        parts.append(data)
        missing -= len(data)
    return b"".join(parts)
