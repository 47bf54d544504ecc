"""The safe's keys, from the keyring down to each document.

    key-encryption key (keyring file or secret, outside the database)
      └─ safe key (one per beneficiary, wrapped in Safe.wrapped_key)
           ├─ document keys (one per document, wrapped in Document.wrapped_key)
           └─ sealed texts (names, contacts, notes, appointments, phone)

Every wrapped key and sealed text is bound to the object it belongs to
(its "context"), so that a blob copied onto another row does not open.
"""

import base64
import json
import threading
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from beffroi.safe.crypto import Keyring, WrappedKey, new_key, seal, unseal
from beffroi.safe.models import Document, Safe

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _keyring(path: str, secret: str) -> Keyring:
    if secret:
        return Keyring.from_secret(secret)
    # Created on first use only under the embedded default's var/ directory;
    # elsewhere a missing file more likely means an unmounted volume: it is
    # created once with `manage.py safe_keyring create`.
    return Keyring(path, create_missing=Path(path).resolve().is_relative_to(Path(settings.VAR_DIR).resolve()))


def keyring() -> Keyring:
    """The keyring: ``SAFE_KEYRING`` (a secret, read-only) or the file ``SAFE_KEYRING_PATH``."""
    with _lock:
        return _keyring(str(settings.SAFE_KEYRING_PATH), settings.SAFE_KEYRING or "")


def wrap_safe_key(safe: Safe, key: bytes) -> None:
    wrapped = keyring().wrap(key, context=safe.context())
    safe.kek_id, safe.wrapped_key = wrapped.kek_id, wrapped.blob


def safe_key(safe: Safe) -> bytes:
    return keyring().unwrap(WrappedKey(safe.kek_id, bytes(safe.wrapped_key)), context=safe.context())


def new_document_key(safe_key_bytes: bytes, document: Document) -> bytes:
    """A fresh key for ``document``; its wrapped form is set on the document."""
    key = new_key()
    document.wrapped_key = seal(safe_key_bytes, base64.b64encode(key).decode(), context=b"key:" + document.context())
    return key


def document_key(safe_key_bytes: bytes, document: Document) -> bytes:
    return base64.b64decode(unseal(safe_key_bytes, bytes(document.wrapped_key), context=b"key:" + document.context()))


def _context(kind: str, safe_id: int, field: str) -> bytes:
    return f"{kind}:{field}:safe:{safe_id}".encode()


def seal_text(key: bytes, safe: Safe, kind: str, text: str) -> bytes:
    """A short text of the safe (a folder's name, a phone number)."""
    return seal(key, text, context=_context(kind, safe.pk, "text"))


def unseal_text(key: bytes, safe: Safe, kind: str, blob) -> str:
    return unseal(key, bytes(blob), context=_context(kind, safe.pk, "text"))


def seal_data(key: bytes, safe: Safe, kind: str, data: dict) -> bytes:
    """A record's fields (a contact, a note, an appointment), as sealed JSON."""
    return seal(key, json.dumps(data, ensure_ascii=False), context=_context(kind, safe.pk, "data"))


def unseal_data(key: bytes, safe: Safe, kind: str, blob) -> dict:
    return json.loads(unseal(key, bytes(blob), context=_context(kind, safe.pk, "data")))
