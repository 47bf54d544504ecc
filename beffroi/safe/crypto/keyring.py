"""Key-encryption keys (KEK), kept outside the database.

Each object's data key is stored in the database wrapped by a KEK; the KEKs
live only in a keyring file (or, read-only, in an environment secret), so a
copy of the database alone opens nothing. ``rotate()`` adds a new current KEK
and keeps the old ones for unwrapping; once every wrapped key has been
``rewrap()``-ed, ``destroy()`` removes an old KEK, which shreds whatever only
it wraps. Backups of the keyring file still hold destroyed keys: shredding is
complete once those backups have expired.

The file is JSON, mode 0600::

    {"format": "beffroi-safe-keyring", "version": 1, "current": "k2",
     "keys": {"k1": "<base64>", "k2": "<base64>"}, "destroyed": ["k0"]}

It is replaced atomically (temporary file, fsync, rename); changes are
serialised between processes by ``flock`` on ``<file>.lock``. Every use
stats the file and reloads it if it was replaced, so a rotation made by one
process is seen by all.

A wrapped key is ``version (1 byte) | nonce (12 random bytes) | ciphertext | tag``,
authenticated with the context of the object it belongs to.
"""

import base64
import fcntl
import json
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag

from .aead import KEY_SIZE, NONCE_SIZE, TAG_SIZE, aes256gcm, check_context, new_key
from .errors import KeyringError, KeyUnavailableError, TamperedError

FORMAT = "beffroi-safe-keyring"
WRAP_VERSION = b"\x01"
# Keeps a wrapped key from ever verifying as another format under the same key.
_WRAP_LABEL = b"BFWRAP"
_WRAPPED_SIZE = 1 + NONCE_SIZE + KEY_SIZE + TAG_SIZE
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_SEQUENTIAL_ID = re.compile(r"k(\d+)")


@dataclass(frozen=True)
class WrappedKey:
    kek_id: str
    blob: bytes


@dataclass(frozen=True)
class _Keys:
    current: str
    keys: dict[str, bytes]  # never mutated: a change builds a new _Keys
    destroyed: frozenset[str] = field(default_factory=frozenset)


class Keyring:
    """The keyring file at ``path``; with ``create_missing``, a missing file is created with one key.

    Creating a missing file is right for a development machine; in production
    a missing keyring more likely means a wrong path or an unmounted volume,
    so there it should be created once, with ``Keyring.create()``.
    """

    def __init__(self, path: str | os.PathLike, *, create_missing: bool = False):
        self._path = Path(path)
        self._create_missing = create_missing
        self._lock = threading.Lock()
        self._keys: _Keys | None = None
        self._stamp: tuple[int, int, int] | None = None

    @classmethod
    def create(cls, path: str | os.PathLike) -> "Keyring":
        _create_file(Path(path), exist_ok=False)
        return cls(path)

    @classmethod
    def from_secret(cls, secret: str) -> "Keyring":
        """A read-only keyring from ``"k2:<base64 key>,k1:<base64 key>"``; the first key is the current one.

        A key can be made with ``python -c "import base64, secrets;
        print(base64.b64encode(secrets.token_bytes(32)).decode())"``.
        """
        return _SecretKeyring(_parse_secret(secret))

    @property
    def current_id(self) -> str:
        return self._load().current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._load().keys)

    def wrap(self, key: bytes, *, context: bytes) -> WrappedKey:
        if not isinstance(key, bytes) or len(key) != KEY_SIZE:
            raise ValueError("Only 32-byte data keys are wrapped.")
        keys = self._load()
        nonce = os.urandom(NONCE_SIZE)
        aad = _WRAP_LABEL + WRAP_VERSION + check_context(context)
        return WrappedKey(
            keys.current, WRAP_VERSION + nonce + aes256gcm(keys.keys[keys.current]).encrypt(nonce, key, aad)
        )

    def unwrap(self, wrapped: WrappedKey | tuple[str, bytes], *, context: bytes) -> bytes:
        kek_id, blob = (wrapped.kek_id, wrapped.blob) if isinstance(wrapped, WrappedKey) else wrapped
        keys = self._load()
        kek = keys.keys.get(kek_id)
        if kek is None:
            raise KeyUnavailableError(kek_id, destroyed=kek_id in keys.destroyed)
        blob = bytes(blob)  # PostgreSQL hands binary columns back as memoryview
        if len(blob) != _WRAPPED_SIZE or blob[:1] != WRAP_VERSION:
            raise TamperedError()
        aad = _WRAP_LABEL + WRAP_VERSION + check_context(context)
        try:
            return aes256gcm(kek).decrypt(blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :], aad)
        except InvalidTag:
            raise TamperedError() from None

    def rewrap(self, wrapped: WrappedKey | tuple[str, bytes], *, context: bytes) -> WrappedKey:
        """The same data key, wrapped by the current KEK."""
        return self.wrap(self.unwrap(wrapped, context=context), context=context)

    def rotate(self) -> str:
        """Add a new KEK and make it current; returns its id."""

        def add(keys: _Keys) -> _Keys:
            used = [int(match[1]) for i in (*keys.keys, *keys.destroyed) if (match := _SEQUENTIAL_ID.fullmatch(i))]
            # Ids are never reused, so a key wrapped by a destroyed KEK can never meet a different one.
            new_id = f"k{max(used, default=0) + 1}"
            return _Keys(new_id, {**keys.keys, new_id: new_key()}, keys.destroyed)

        return self._change(add).current

    def destroy(self, kek_id: str) -> None:
        """Remove an old KEK for good: whatever only it wraps can no longer be opened."""

        def remove(keys: _Keys) -> _Keys:
            if kek_id == keys.current:
                raise KeyringError(
                    f"La clé « {kek_id} » est la clé courante : faites d’abord une rotation et rechiffrez les clés qu’elle protège."
                )
            if kek_id in keys.destroyed:
                return keys
            if kek_id not in keys.keys:
                raise KeyringError(f"Aucune clé « {kek_id} » dans ce trousseau.")
            remaining = {i: key for i, key in keys.keys.items() if i != kek_id}
            return _Keys(keys.current, remaining, keys.destroyed | {kek_id})

        self._change(remove)

    def _load(self) -> _Keys:
        with self._lock:
            try:
                stamp = _stamp(os.stat(self._path))
            except FileNotFoundError:
                if not self._create_missing:
                    raise _missing(self._path) from None
                _create_file(self._path, exist_ok=True)
                stamp = None
            if stamp is None or stamp != self._stamp:
                self._keys, self._stamp = _read(self._path)
            return self._keys

    def _change(self, change: Callable[[_Keys], _Keys]) -> _Keys:
        self._load()  # creates the file if it is missing and may be created
        with self._lock, _exclusive(self._path):
            # Re-read under the lock: another process may have changed the file since.
            keys, _ = _read(self._path)
            changed = change(keys)
            if changed is not keys:
                _write(self._path, changed)
            self._keys, self._stamp = _read(self._path)
            return changed


class _SecretKeyring(Keyring):
    def __init__(self, keys: _Keys):
        self._keys = keys

    def _load(self) -> _Keys:
        return self._keys

    def _change(self, change: Callable[[_Keys], _Keys]) -> _Keys:
        raise KeyringError(
            "Ce trousseau vient d’une variable d’environnement : pour changer ses clés, changez la variable."
        )


def _parse_secret(secret: str) -> _Keys:
    keys = {}
    for position, item in enumerate(secret.split(","), start=1):
        kek_id, _, encoded = item.strip().partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError:
            key = b""
        # The message must not quote the secret.
        if not _ID.fullmatch(kek_id) or kek_id in keys or len(key) != KEY_SIZE:
            raise KeyringError(
                f"Trousseau mal formé (élément {position}) : attendu « id:clé » séparés par des virgules, "
                "chaque clé faisant 32 octets encodés en base64."
            )
        keys[kek_id] = key
    return _Keys(next(iter(keys)), keys)


def _missing(path: Path) -> KeyringError:
    return KeyringError(f"Le trousseau de clés {path} est introuvable.")


def _stamp(stat: os.stat_result) -> tuple[int, int, int]:
    # Every write replaces the file, so its inode changes even within one mtime tick.
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _read(path: Path) -> tuple[_Keys, tuple[int, int, int]]:
    try:
        with open(path, "rb") as handle:
            stamp = _stamp(os.fstat(handle.fileno()))
            data = handle.read()
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as exc:
        raise KeyringError(f"Le trousseau de clés {path} ne peut pas être lu.") from exc
    try:
        doc = json.loads(data)
        if doc["format"] != FORMAT or doc["version"] != 1:
            raise ValueError("unknown format")
        keys = {str(kek_id): base64.b64decode(encoded, validate=True) for kek_id, encoded in doc["keys"].items()}
        if doc["current"] not in keys or any(len(key) != KEY_SIZE for key in keys.values()):
            raise ValueError("inconsistent keys")
        return _Keys(doc["current"], keys, frozenset(doc.get("destroyed", ()))), stamp
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KeyringError(f"Le trousseau de clés {path} est mal formé.") from exc


def _create_file(path: Path, *, exist_ok: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Under the lock, so that processes starting together agree on a single first key.
    with _exclusive(path):
        if path.exists():
            if exist_ok:
                return
            raise KeyringError(f"Le trousseau de clés {path} existe déjà : il n’a pas été remplacé.")
        _write(path, _Keys("k1", {"k1": new_key()}))


def _write(path: Path, keys: _Keys) -> None:
    doc = {
        "format": FORMAT,
        "version": 1,
        "current": keys.current,
        "keys": {kek_id: base64.b64encode(key).decode() for kek_id, key in keys.keys.items()},
        "destroyed": sorted(keys.destroyed),
    }
    # mkstemp creates the file with mode 0600.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(doc, indent=2).encode() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    # The rename must be on disk before anything wrapped by a new key is committed elsewhere.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
