"""A request body received whole before Django sees it, without holding it in
memory or writing it in clear.

Up to ``in_memory`` bytes stay in memory; beyond, the body goes to an unnamed
temporary file (removed by the system when closed, even after a crash),
encrypted with AES-CTR under a key that exists only in this object: a
beneficiary's document never reaches the disk in clear, whichever route
receives it. Reading decrypts as it goes; the thread that reads does the
work, the event loop only appends.
"""

import io
import os
import tempfile

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

WRITE_BUFFER = 1 << 20


class Spool:
    def __init__(self, *, in_memory: int, directory: str | os.PathLike | None = None):
        self.in_memory = in_memory
        self.directory = directory
        self.size = 0
        self._memory = bytearray()
        self._file = None
        self._cipher = None
        self._encryptor = None

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self._file is None:
            self._memory += data
            if len(self._memory) <= self.in_memory:
                return
            self._to_file()
            return
        self._file.write(self._encryptor.update(data))

    def _to_file(self) -> None:
        self._cipher = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16)))
        self._encryptor = self._cipher.encryptor()
        self._file = tempfile.TemporaryFile(dir=self.directory, buffering=WRITE_BUFFER)
        self._file.write(self._encryptor.update(bytes(self._memory)))
        self._memory = bytearray()

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def reader(self) -> io.BufferedReader | io.BytesIO:
        """The whole body, from its first byte (call once, after the last write)."""
        if self._file is None:
            return io.BytesIO(bytes(self._memory))
        self._file.flush()
        self._file.seek(0)
        return io.BufferedReader(_Decrypting(self._file, self._cipher.decryptor()), buffer_size=WRITE_BUFFER)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._memory = bytearray()


class _Decrypting(io.RawIOBase):
    def __init__(self, file, decryptor):
        self._file = file
        self._decryptor = decryptor

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        data = self._file.read(len(target))
        if not data:
            return 0
        size = len(data)
        target[:size] = self._decryptor.update(data)
        return size
