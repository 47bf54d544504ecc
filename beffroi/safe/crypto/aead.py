"""AES-256-GCM primitives shared by the stream, field and keyring formats."""

import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16


def new_key() -> bytes:
    """A fresh random AES-256 key."""
    return secrets.token_bytes(KEY_SIZE)


def aes256gcm(key: bytes) -> AESGCM:
    # AESGCM also takes 128- and 192-bit keys: refuse them so a truncated key is a bug, not a weaker cipher.
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_SIZE:
        raise ValueError("AES-256 keys are 32 bytes.")
    return AESGCM(bytes(key))


def check_context(context: bytes) -> bytes:
    if not isinstance(context, bytes):
        raise TypeError("The context must be bytes, e.g. b'document:<uuid>:owner:<id>'.")
    return context
