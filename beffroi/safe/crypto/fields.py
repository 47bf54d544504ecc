"""Small values (contacts, notes, appointment texts) sealed one by one.

A sealed value is ``version (1 byte) | nonce (12 random bytes) | ciphertext | tag``;
the tag also authenticates the context, so a value copied onto another
record, or into another field, no longer opens. Its length still shows the
length of the text.
"""

import os

from cryptography.exceptions import InvalidTag

from .aead import NONCE_SIZE, TAG_SIZE, aes256gcm, check_context, new_key
from .errors import TamperedError

__all__ = ["new_key", "seal", "unseal"]

VERSION = b"\x01"
# Keeps a sealed field from ever verifying as another format under the same key.
_LABEL = b"BFSEAL"
_MESSAGE = "Cette information est altérée : elle ne correspond plus à ce qui a été enregistré."


def seal(key: bytes, plaintext: str, *, context: bytes) -> bytes:
    aead = aes256gcm(key)
    nonce = os.urandom(NONCE_SIZE)
    return VERSION + nonce + aead.encrypt(nonce, plaintext.encode(), _LABEL + VERSION + check_context(context))


def unseal(key: bytes, blob: bytes, *, context: bytes) -> str:
    aead = aes256gcm(key)
    blob = bytes(blob)  # PostgreSQL hands binary columns back as memoryview
    if len(blob) < 1 + NONCE_SIZE + TAG_SIZE or blob[:1] != VERSION:
        raise TamperedError(_MESSAGE)
    try:
        data = aead.decrypt(blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :], _LABEL + VERSION + check_context(context))
    except InvalidTag:
        raise TamperedError(_MESSAGE) from None
    return data.decode()
