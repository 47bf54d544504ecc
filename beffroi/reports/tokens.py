"""Tracking codes (readable) and follow-up tokens (secret, kept only hashed)."""

import hashlib
import secrets

# Crockford's base 32: no I, L, O or U, so that a code read aloud is not misheard.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_BYTES = 24  # 192 bits (at least 128 are asked)


def new_code() -> str:
    """Like "4K7Q-2M9P": 40 random bits, enough to tell reports apart, not a secret."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalise_code(text: str) -> str:
    """A code as typed ("4k7q 2m9p", with O for 0...) in its stored form; "" if it cannot be one."""
    cleaned = text.strip().upper().replace(" ", "").replace("-", "")
    cleaned = cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    if len(cleaned) != 8 or any(c not in ALPHABET for c in cleaned):
        return ""
    return f"{cleaned[:4]}-{cleaned[4:]}"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """SHA-256: the token is 192 random bits, so unlike a password it needs no
    slow hash to resist guessing, and a lookup by hash stays one index read."""
    return hashlib.sha256(token.encode()).hexdigest()
