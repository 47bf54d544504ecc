"""Cryptography of the digital safe: files as authenticated streams, small values
sealed one by one, data keys wrapped by key-encryption keys kept outside the database."""

from .errors import KeyringError, KeyUnavailableError, TamperedError
from .fields import new_key, seal, unseal
from .keyring import Keyring, WrappedKey
from .stream import (
    DEFAULT_CHUNK_SIZE,
    EncryptResult,
    StreamEncryptor,
    ciphertext_size,
    decrypt_stream,
    encrypt_stream,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "EncryptResult",
    "KeyUnavailableError",
    "Keyring",
    "KeyringError",
    "StreamEncryptor",
    "TamperedError",
    "WrappedKey",
    "ciphertext_size",
    "decrypt_stream",
    "encrypt_stream",
    "new_key",
    "seal",
    "unseal",
]
