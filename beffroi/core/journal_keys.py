"""The keys of the journal's MAC, kept outside the database.

``JOURNAL_KEYS`` (in production ``JOURNAL_KEYS_FILE``, a secret) lists the
keys newest first: ``"j2:<secret>,j1:<secret>"``. The first signs new
entries; the others only verify the entries they signed. Each entry names
its key (``JournalEntry.key_id``), so rotating means putting a new key in
front and restarting the processes: nothing is rewritten. A former key must
stay listed as long as the entries it signed are to be verified; it cannot be
used to forge entries after the rotation, since ``verify`` refuses an entry
signed by an older key than the entry before it.

These keys are separate from ``SECRET_KEY`` and from the safe's keyring, so
that each can be changed without the others. Without ``JOURNAL_KEYS`` (the
embedded default), one key is generated on first use under
``VAR_DIR/secrets/`` on this machine only: fine for ``make run``, wrong for
several machines (``check --deploy`` says so).
"""

import os
import re
import secrets
import tempfile
import threading
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

# 32 characters of secrets.token_urlsafe carry 192 bits; new keys have 43 (256 bits).
MIN_SECRET_LENGTH = 32
_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")
_lock = threading.Lock()


class JournalKeyError(RuntimeError):
    """The keys are missing, malformed, or do not match the journal."""


@dataclass(frozen=True)
class JournalKeys:
    ids: tuple[str, ...]  # newest first
    values: dict[str, bytes]

    @property
    def current_id(self) -> str:
        return self.ids[0]

    def get(self, key_id: str) -> bytes | None:
        return self.values.get(key_id)

    def age(self, key_id: str) -> int:
        """0 for the oldest key listed; larger is newer."""
        return len(self.ids) - 1 - self.ids.index(key_id)


def new_key_item(key_id: str = "j1") -> str:
    """A fresh ``id:secret`` item for ``JOURNAL_KEYS``."""
    return f"{key_id}:{secrets.token_urlsafe(32)}"


def parse(text: str) -> JournalKeys:
    ids, found = [], {}
    for position, item in enumerate(text.split(","), start=1):
        key_id, _, secret = item.strip().partition(":")
        # The message must never quote the secret.
        if not _ID.fullmatch(key_id) or key_id in found or len(secret) < MIN_SECRET_LENGTH:
            raise JournalKeyError(
                f"JOURNAL_KEYS mal formée (élément {position}) : attendu « id:secret » séparés par des virgules, "
                f"la plus récente en premier, chaque secret d’au moins {MIN_SECRET_LENGTH} caractères."
            )
        ids.append(key_id)
        found[key_id] = secret.encode()
    return JournalKeys(tuple(ids), found)


@lru_cache(maxsize=4)
def _parsed(text: str) -> JournalKeys:
    return parse(text)


def generated_path() -> Path:
    return Path(settings.VAR_DIR) / "secrets" / "journal_key"


def journal_keys() -> JournalKeys:
    """The keys from ``JOURNAL_KEYS``, or the embedded default's generated key."""
    text = settings.JOURNAL_KEYS
    if not text:
        with _lock:
            text = "j1:" + _generated_secret(generated_path())
    return _parsed(text)


def _generated_secret(path: Path) -> str:
    """Read the generated key, creating it first if need be.

    Unlike ``beffroi.env.generated_secret``, the file appears with its content
    (written aside, then linked into place): processes starting together (the
    web processes, a worker, the test workers) can never read it empty, and
    all of them end up with the same key.
    """
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
            handle.flush()
            os.fsync(handle.fileno())
        with suppress(FileExistsError):  # another process was first: its key wins
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_text(encoding="utf-8").strip()
