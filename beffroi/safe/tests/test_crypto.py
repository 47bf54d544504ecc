"""The safe's cryptography: streams, sealed fields and the keyring, on real files and keys."""

import base64
import hashlib
import io
import itertools
import json
import os
import stat
import threading
import tracemalloc

import pytest

from beffroi.safe.crypto import (
    DEFAULT_CHUNK_SIZE,
    Keyring,
    KeyringError,
    KeyUnavailableError,
    StreamEncryptor,
    TamperedError,
    WrappedKey,
    ciphertext_size,
    decrypt_stream,
    encrypt_stream,
    new_key,
    seal,
    unseal,
)
from beffroi.safe.crypto.stream import HEADER_SIZE

CHUNK = 64 * 1024
RECORD = CHUNK + 16
CONTEXT = b"document:0b7e2c4a-5d1f-4e8a-9c3b-2f6d8e1a7b90:owner:17"
MARKER = b"MARQUEUR-EN-CLAIR-"


def _encrypt(plaintext: bytes, key: bytes, *, context: bytes = CONTEXT, chunk_size: int = CHUNK):
    sink = io.BytesIO()
    result = encrypt_stream(io.BytesIO(plaintext), sink, key=key, context=context, chunk_size=chunk_size)
    return sink.getvalue(), result


def _decrypt(ciphertext: bytes, key: bytes, *, context: bytes = CONTEXT) -> bytes:
    return b"".join(decrypt_stream(io.BytesIO(ciphertext), key=key, context=context))


def _yielded_before_error(ciphertext: bytes, key: bytes, *, context: bytes = CONTEXT) -> bytes:
    """What decryption handed out before it raised TamperedError (it must raise)."""
    pieces = []
    with pytest.raises(TamperedError, match="altéré"):
        for piece in decrypt_stream(io.BytesIO(ciphertext), key=key, context=context):
            pieces.append(piece)
    return b"".join(pieces)


def _records(ciphertext: bytes, chunk_size: int = CHUNK) -> list[bytes]:
    body, step = ciphertext[HEADER_SIZE:], chunk_size + 16
    return [body[i : i + step] for i in range(0, len(body), step)]


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


@pytest.fixture
def key():
    return new_key()


@pytest.fixture
def four_chunks():
    """Three full chunks and a partial one, each with a recognisable marker."""
    return b"".join((MARKER + bytes([i]) * 4).ljust(CHUNK if i < 3 else 1000, b"-") for i in range(4))


# Streams


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5])
def test_stream_round_trip(key, size):
    plaintext = os.urandom(size)
    ciphertext, result = _encrypt(plaintext, key)
    assert _decrypt(ciphertext, key) == plaintext
    assert result.plaintext_size == size
    assert result.ciphertext_size == len(ciphertext) == ciphertext_size(size, CHUNK)
    assert result.sha256 == hashlib.sha256(plaintext).hexdigest()


def test_stream_round_trip_with_default_chunk_size(key):
    plaintext = os.urandom(3_000_000)
    ciphertext, result = _encrypt(plaintext, key, chunk_size=DEFAULT_CHUNK_SIZE)
    assert len(_records(ciphertext, DEFAULT_CHUNK_SIZE)) == 3
    assert _decrypt(ciphertext, key) == plaintext
    assert result.ciphertext_size == len(ciphertext) == ciphertext_size(len(plaintext))
    assert result.sha256 == hashlib.sha256(plaintext).hexdigest()


def test_decryption_yields_one_chunk_at_a_time(key, four_chunks):
    ciphertext, _ = _encrypt(four_chunks, key)
    pieces = list(decrypt_stream(io.BytesIO(ciphertext), key=key, context=CONTEXT))
    assert [len(piece) for piece in pieces] == [CHUNK, CHUNK, CHUNK, 1000]


def test_ciphertext_shows_no_plaintext(key):
    plaintext = MARKER * 20_000
    ciphertext, _ = _encrypt(plaintext, key)
    assert MARKER not in ciphertext
    assert MARKER[:8] not in ciphertext


def test_same_file_encrypts_differently_each_time(key, four_chunks):
    first, _ = _encrypt(four_chunks, key)
    second, _ = _encrypt(four_chunks, key)
    assert first[:HEADER_SIZE] != second[:HEADER_SIZE]
    assert _records(first)[0] != _records(second)[0]


def test_source_returning_short_reads_is_read_whole(key, four_chunks):
    """Sockets and unbuffered files return fewer bytes than asked; that is not the end of the file."""

    class Trickle(io.BytesIO):
        def read(self, size=-1):
            return super().read(min(size, 777) if size and size > 0 else 777)

    ciphertext, _ = _encrypt(four_chunks, key)
    assert b"".join(decrypt_stream(Trickle(ciphertext), key=key, context=CONTEXT)) == four_chunks


def test_incremental_encryptor_accepts_pieces_of_any_size(key):
    plaintext = os.urandom(5 * CHUNK + 321)
    encryptor = StreamEncryptor(key, CONTEXT, chunk_size=CHUNK)
    out = []
    sizes = [1, 7, CHUNK - 1, CHUNK, CHUNK + 1, 3, 0, 2 * CHUNK + 13, 100_000]
    position = 0
    for size in itertools.cycle(sizes):
        if position >= len(plaintext):
            break
        out.append(encryptor.update(plaintext[position : position + size]))
        position += size
    out.append(encryptor.finalize())
    ciphertext = b"".join(out)
    assert _decrypt(ciphertext, key) == plaintext
    assert encryptor.result.ciphertext_size == len(ciphertext) == ciphertext_size(len(plaintext), CHUNK)
    assert encryptor.result.sha256 == hashlib.sha256(plaintext).hexdigest()
    with pytest.raises(RuntimeError):
        encryptor.update(b"late")


def test_incremental_encryptor_holds_at_most_one_chunk(key):
    encryptor = StreamEncryptor(key, CONTEXT, chunk_size=CHUNK)
    assert len(encryptor.update(b"x" * CHUNK)) == HEADER_SIZE  # may still be the final chunk
    assert len(encryptor.update(b"x")) == RECORD
    assert len(encryptor.finalize()) == 1 + 16


def test_encrypting_64_mb_keeps_memory_flat(key):
    total = 64 * 1024 * 1024
    block = os.urandom(1024 * 1024)

    def blocks():
        for _ in range(total // len(block)):
            yield block

    class GeneratedReader:
        def __init__(self):
            self._blocks = blocks()
            self._rest = b""

        def read(self, size):
            if not self._rest:
                self._rest = next(self._blocks, b"")
            piece, self._rest = self._rest[:size], self._rest[size:]
            return piece

    class CountingSink:
        written = 0

        def write(self, data):
            self.written += len(data)

    sink = CountingSink()
    tracemalloc.start()
    try:
        result = encrypt_stream(GeneratedReader(), sink, key=key, context=CONTEXT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.plaintext_size == total
    assert sink.written == result.ciphertext_size == ciphertext_size(total)
    assert peak < 6 * 1024 * 1024


def test_every_flipped_byte_is_detected(key):
    """Exhaustively, on a small stream: header, every chunk, every tag."""
    plaintext = bytes(range(50))
    ciphertext, _ = _encrypt(plaintext, key, chunk_size=16)
    for position in range(len(ciphertext)):
        yielded = _yielded_before_error(_flip(ciphertext, position), key)
        chunk_index = max(0, position - HEADER_SIZE) // (16 + 16)
        # Only the chunks before the damaged one come out, and nothing at all if the header is damaged.
        assert yielded == (plaintext[: 16 * chunk_index] if position >= HEADER_SIZE else b"")


@pytest.mark.parametrize(
    ("where", "authentic_chunks"),
    [
        (0, 0),  # magic
        (HEADER_SIZE - 1, 0),  # nonce prefix
        (HEADER_SIZE, 0),  # first byte of the first chunk
        (HEADER_SIZE + RECORD + CHUNK // 2, 1),  # middle of the second chunk
        (HEADER_SIZE + 3 * RECORD - 1, 2),  # last byte of the third chunk's tag
        (-1, 3),  # very last byte
    ],
)
def test_flipped_byte_in_a_large_stream(key, four_chunks, where, authentic_chunks):
    ciphertext, _ = _encrypt(four_chunks, key)
    yielded = _yielded_before_error(_flip(ciphertext, where % len(ciphertext)), key)
    assert yielded == four_chunks[: authentic_chunks * CHUNK]
    assert MARKER + bytes([authentic_chunks]) not in yielded


def test_header_is_bound_to_every_chunk(key):
    """A one-chunk file would still parse with another chunk size: its tag must refuse it."""
    ciphertext, _ = _encrypt(b"x" * 1000, key)
    resized = ciphertext[:7] + (2 * CHUNK).to_bytes(4, "big") + ciphertext[11:]
    assert _yielded_before_error(resized, key) == b""


def test_truncation_is_detected(key, four_chunks):
    ciphertext, _ = _encrypt(four_chunks, key)
    records = _records(ciphertext)
    header = ciphertext[:HEADER_SIZE]
    # At a chunk boundary: the last remaining chunk was not sealed as the final one.
    assert _yielded_before_error(header + b"".join(records[:2]), key) == four_chunks[:CHUNK]
    # The final chunk dropped.
    assert _yielded_before_error(header + b"".join(records[:3]), key) == four_chunks[: 2 * CHUNK]
    # In the middle of a chunk.
    assert _yielded_before_error(ciphertext[: HEADER_SIZE + RECORD + 500], key) == four_chunks[:CHUNK]
    # Inside the last tag.
    assert _yielded_before_error(ciphertext[:-1], key) == four_chunks[: 3 * CHUNK]
    # Only the header, part of it, nothing.
    for cut in (HEADER_SIZE, HEADER_SIZE - 1, 0):
        assert _yielded_before_error(ciphertext[:cut], key) == b""


def test_empty_file_truncated_to_its_header_is_detected(key):
    ciphertext, _ = _encrypt(b"", key)
    assert len(ciphertext) == HEADER_SIZE + 16
    assert _decrypt(ciphertext, key) == b""
    _yielded_before_error(ciphertext[:HEADER_SIZE], key)


def test_reordered_or_duplicated_chunks_are_detected(key, four_chunks):
    ciphertext, _ = _encrypt(four_chunks, key)
    header, records = ciphertext[:HEADER_SIZE], _records(ciphertext)
    swapped = header + records[1] + records[0] + records[2] + records[3]
    assert _yielded_before_error(swapped, key) == b""
    swapped_later = header + records[0] + records[2] + records[1] + records[3]
    assert _yielded_before_error(swapped_later, key) == four_chunks[:CHUNK]
    duplicated = header + records[0] + records[0] + records[1] + records[2] + records[3]
    assert _yielded_before_error(duplicated, key) == four_chunks[:CHUNK]
    final_repeated = ciphertext + records[3]
    assert _yielded_before_error(final_repeated, key) == four_chunks[: 3 * CHUNK]


def test_trailing_bytes_are_detected(key, four_chunks):
    ciphertext, _ = _encrypt(four_chunks, key)
    assert _yielded_before_error(ciphertext + b"\x00", key) == four_chunks[: 3 * CHUNK]
    full, _ = _encrypt(four_chunks[: 2 * CHUNK], key)  # its final chunk is a full one
    assert _yielded_before_error(full + b"garbage", key) == four_chunks[:CHUNK]


def test_chunks_from_another_file_are_detected(key, four_chunks):
    """Same key and context (the same document encrypted twice): chunks still do not mix."""
    first, _ = _encrypt(four_chunks, key)
    second, _ = _encrypt(four_chunks, key)
    spliced = first[:HEADER_SIZE] + _records(first)[0] + _records(second)[1] + b"".join(_records(first)[2:])
    assert _yielded_before_error(spliced, key) == four_chunks[:CHUNK]
    # Nor does a header taken from another file.
    assert _yielded_before_error(second[:HEADER_SIZE] + first[HEADER_SIZE:], key) == b""


def test_other_document_context_or_key_is_refused_before_anything_is_yielded(key, four_chunks):
    ciphertext, _ = _encrypt(four_chunks, key)
    other_document = b"document:5a1c9e20-7b3d-4f6e-8a2c-1d9e0f4b6c83:owner:17"
    with pytest.raises(TamperedError):
        decrypt_stream(io.BytesIO(ciphertext), key=key, context=other_document)
    with pytest.raises(TamperedError):
        decrypt_stream(io.BytesIO(ciphertext), key=new_key(), context=CONTEXT)
    # A chunk of another document under the same key does not fit either.
    other, _ = _encrypt(four_chunks, key, context=other_document)
    spliced = (
        ciphertext[:HEADER_SIZE] + _records(ciphertext)[0] + _records(other)[1] + b"".join(_records(ciphertext)[2:])
    )
    assert _yielded_before_error(spliced, key) == four_chunks[:CHUNK]


def test_only_aes_256_keys_and_bytes_contexts_are_accepted(key):
    with pytest.raises(ValueError):
        StreamEncryptor(key[:16], CONTEXT)
    with pytest.raises(TypeError):
        StreamEncryptor(key, CONTEXT.decode())


# Sealed fields


def test_seal_round_trip(key):
    for text in ("", "Rendez-vous chez le médecin — mardi 14 h, 3 rue de l’Église", "é" * 10_000):
        blob = seal(key, text, context=b"note:data:safe:3")
        assert unseal(key, blob, context=b"note:data:safe:3") == text
        assert unseal(key, memoryview(blob), context=b"note:data:safe:3") == text
    assert "médecin".encode() not in seal(key, "médecin", context=b"note:data:safe:3")


def test_sealing_twice_gives_different_blobs(key):
    assert seal(key, "même texte", context=b"c") != seal(key, "même texte", context=b"c")


def test_sealed_field_tampering_is_detected(key):
    blob = seal(key, "06 12 34 56 78", context=b"safe:phone:3")
    for position in range(len(blob)):
        with pytest.raises(TamperedError, match="altérée"):
            unseal(key, _flip(blob, position), context=b"safe:phone:3")
    for damaged in (blob[:-1], blob[:12], b"", blob + b"\x00"):
        with pytest.raises(TamperedError):
            unseal(key, damaged, context=b"safe:phone:3")
    with pytest.raises(TamperedError):
        unseal(key, blob, context=b"safe:phone:4")
    with pytest.raises(TamperedError):
        unseal(new_key(), blob, context=b"safe:phone:3")


def test_new_keys_are_random_256_bit_keys():
    keys = {new_key() for _ in range(100)}
    assert len(keys) == 100
    assert {len(k) for k in keys} == {32}


# Keyring


def _file_keys(path) -> dict:
    return json.loads(path.read_text())["keys"]


def test_keyring_wraps_and_unwraps(tmp_path, key):
    keyring = Keyring.create(tmp_path / "keyring.json")
    wrapped = keyring.wrap(key, context=b"safe:3")
    assert wrapped.kek_id == keyring.current_id == "k1"
    assert key not in wrapped.blob
    assert keyring.unwrap(wrapped, context=b"safe:3") == key
    # As stored in the database: an id and a binary column (memoryview on PostgreSQL).
    assert keyring.unwrap((wrapped.kek_id, memoryview(wrapped.blob)), context=b"safe:3") == key


def test_wrapped_key_only_opens_for_its_object(tmp_path, key):
    keyring = Keyring.create(tmp_path / "keyring.json")
    wrapped = keyring.wrap(key, context=b"safe:3")
    with pytest.raises(TamperedError):
        keyring.unwrap(wrapped, context=b"safe:4")
    for position in range(len(wrapped.blob)):
        with pytest.raises(TamperedError):
            keyring.unwrap(WrappedKey("k1", _flip(wrapped.blob, position)), context=b"safe:3")
    with pytest.raises(TamperedError):
        keyring.unwrap(WrappedKey("k1", wrapped.blob[:-1]), context=b"safe:3")


def test_keyring_file_is_private_and_holds_no_temporary_files(tmp_path):
    path = tmp_path / "secrets" / "keyring.json"
    keyring = Keyring.create(path)
    keyring.rotate()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["keyring.json", "keyring.json.lock"]
    assert {len(base64.b64decode(v)) for v in _file_keys(path).values()} == {32}


def test_rotation_keeps_old_keys_for_unwrapping_and_rewrap_moves_to_the_new_one(tmp_path, key):
    keyring = Keyring.create(tmp_path / "keyring.json")
    old = keyring.wrap(key, context=b"safe:3")
    assert keyring.rotate() == "k2"
    assert keyring.current_id == "k2"
    assert keyring.key_ids == ("k1", "k2")
    assert keyring.unwrap(old, context=b"safe:3") == key
    assert keyring.wrap(key, context=b"safe:3").kek_id == "k2"
    moved = keyring.rewrap(old, context=b"safe:3")
    assert moved.kek_id == "k2"
    assert keyring.unwrap(moved, context=b"safe:3") == key
    with pytest.raises(TamperedError):
        keyring.rewrap(old, context=b"safe:4")


def test_destroying_an_old_key_shreds_what_only_it_wraps(tmp_path, key):
    path = tmp_path / "keyring.json"
    keyring = Keyring.create(path)
    shredded = keyring.wrap(key, context=b"safe:3")
    kept = keyring.wrap(key, context=b"safe:4")
    old_material = _file_keys(path)["k1"]
    keyring.rotate()
    kept = keyring.rewrap(kept, context=b"safe:4")
    with pytest.raises(KeyringError, match="clé courante"):
        keyring.destroy("k2")
    keyring.destroy("k1")
    keyring.destroy("k1")  # already done: nothing to do
    assert old_material not in path.read_text()
    with pytest.raises(KeyUnavailableError, match="détruite") as raised:
        keyring.unwrap(shredded, context=b"safe:3")
    assert raised.value.kek_id == "k1"
    assert keyring.unwrap(kept, context=b"safe:4") == key
    # Ids are not reused after a destruction.
    assert keyring.rotate() == "k3"
    with pytest.raises(KeyUnavailableError, match="introuvable"):
        keyring.unwrap(WrappedKey("k9", shredded.blob), context=b"safe:3")
    with pytest.raises(KeyringError):
        keyring.destroy("k9")


def test_other_processes_see_a_rotation(tmp_path, key):
    path = tmp_path / "keyring.json"
    here = Keyring.create(path)
    there = Keyring(path)
    assert there.current_id == "k1"
    here.rotate()
    assert there.current_id == "k2"
    assert here.unwrap(there.wrap(key, context=b"safe:3"), context=b"safe:3") == key
    there.rotate()
    here.destroy("k1")
    assert there.key_ids == ("k2", "k3")


def test_missing_keyring_is_created_only_when_allowed(tmp_path):
    path = tmp_path / "var" / "keyring.json"
    with pytest.raises(KeyringError, match="introuvable"):
        Keyring(path).current_id  # noqa: B018
    assert not path.exists()
    assert Keyring(path, create_missing=True).current_id == "k1"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(KeyringError, match="existe déjà"):
        Keyring.create(path)


def test_concurrent_first_uses_agree_on_one_key(tmp_path, key):
    path = tmp_path / "keyring.json"
    keyrings = [Keyring(path, create_missing=True) for _ in range(8)]
    wrapped = [None] * len(keyrings)

    def first_use(i):
        wrapped[i] = keyrings[i].wrap(key, context=b"safe:3")

    threads = [threading.Thread(target=first_use, args=(i,)) for i in range(len(keyrings))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(_file_keys(path)) == ["k1"]
    for item in wrapped:
        assert Keyring(path).unwrap(item, context=b"safe:3") == key


def test_concurrent_rotations_lose_no_key(tmp_path, key):
    path = tmp_path / "keyring.json"
    Keyring.create(path)
    keyrings = [Keyring(path) for _ in range(6)]
    threads = [threading.Thread(target=keyring.rotate) for keyring in keyrings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Keyring(path).key_ids == ("k1", "k2", "k3", "k4", "k5", "k6", "k7")


def test_malformed_keyring_file_is_refused(tmp_path):
    path = tmp_path / "keyring.json"
    path.write_text('{"format": "beffroi-safe-keyring", "version": 1, "current": "k2", "keys": {"k1": "AAAA"}}')
    with pytest.raises(KeyringError, match="mal formé"):
        Keyring(path).current_id  # noqa: B018


def test_keyring_from_secret_is_read_only(key):
    k2, k1 = new_key(), new_key()
    secret = f"k2:{base64.b64encode(k2).decode()}, k1:{base64.b64encode(k1).decode()}"
    keyring = Keyring.from_secret(secret)
    assert keyring.current_id == "k2"
    wrapped = keyring.wrap(key, context=b"safe:3")
    assert wrapped.kek_id == "k2"
    assert keyring.unwrap(wrapped, context=b"safe:3") == key
    with pytest.raises(KeyringError, match="variable d’environnement"):
        keyring.rotate()
    with pytest.raises(KeyringError, match="variable d’environnement"):
        keyring.destroy("k1")
    with pytest.raises(KeyUnavailableError):
        keyring.unwrap(WrappedKey("k0", wrapped.blob), context=b"safe:3")


def test_secret_keyring_opens_what_the_file_keyring_wrapped(tmp_path, key):
    path = tmp_path / "keyring.json"
    wrapped = Keyring.create(path).wrap(key, context=b"safe:3")
    keyring = Keyring.from_secret(f"k2:{base64.b64encode(new_key()).decode()},k1:{_file_keys(path)['k1']}")
    assert keyring.unwrap(wrapped, context=b"safe:3") == key
    assert keyring.rewrap(wrapped, context=b"safe:3").kek_id == "k2"


@pytest.mark.parametrize(
    "secret",
    ["", "k1", "k1:", "k1:not-base64!", f"k1:{base64.b64encode(b'short').decode()}", "k1:{k},k1:{k}", ":{k}"],
)
def test_malformed_secret_is_refused_without_being_quoted(secret):
    key = base64.b64encode(b"s" * 32).decode()
    with pytest.raises(KeyringError, match="mal formé") as raised:
        Keyring.from_secret(secret.replace("{k}", key))
    assert key not in str(raised.value)
