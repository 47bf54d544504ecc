"""Checks on what a browser sends when it subscribes."""

import base64
import binascii
import re
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ValidationError

MAX_ENDPOINT_LENGTH = 1000
# Printable ASCII without spaces or backslashes: what push services hand out.
# Anything else (control characters, NUL, which PostgreSQL refuses in text)
# is refused before it reaches the database or an HTTP client.
_ENDPOINT_CHARACTERS = re.compile(r"[!-\[\]-~]+")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
UNCOMPRESSED_P256_POINT = 65  # bytes; the only form Web Push encryption uses (RFC 8291)


def _b64url(value: str) -> bytes:
    # Python's decoder silently skips characters outside the alphabet: check first.
    if not _BASE64URL.fullmatch(value):
        raise ValidationError("Clé de chiffrement illisible (base64url attendu).")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValidationError("Clé de chiffrement illisible (base64url attendu).") from exc


def host_allowed(host: str) -> bool:
    host = host.lower()
    for allowed in settings.PUSH_ALLOWED_HOSTS:
        allowed = allowed.lower()
        if host == allowed or (allowed.startswith(".") and host.endswith(allowed)):
            return True
    return False


def plausible_endpoint(endpoint: str) -> bool:
    """Could have been stored: worth looking up (and safe to send to the database)."""
    return len(endpoint) <= MAX_ENDPOINT_LENGTH and bool(_ENDPOINT_CHARACTERS.fullmatch(endpoint))


def validate_endpoint(endpoint: str) -> None:
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise ValidationError("Adresse d’abonnement trop longue.")
    if not _ENDPOINT_CHARACTERS.fullmatch(endpoint):
        raise ValidationError("Adresse d’abonnement invalide : caractères non permis.")
    try:
        parts = urlsplit(endpoint)
        hostname, _port = parts.hostname, parts.port
    except ValueError as exc:  # "https://[x", "https://host:port"
        raise ValidationError("Adresse d’abonnement invalide.") from exc
    # A user part ("https://a@b/") is read differently by different URL
    # parsers: the host checked here must be the host the sender calls.
    if "@" in parts.netloc:
        raise ValidationError("Adresse d’abonnement invalide.")
    local_test_service = parts.scheme == "http" and hostname in ("127.0.0.1", "localhost")
    if parts.scheme != "https" and not local_test_service:
        raise ValidationError("L’adresse d’abonnement doit être en https.")
    if not hostname or not host_allowed(hostname):
        raise ValidationError("Ce service de notification n’est pas reconnu.")


def validate_keys(p256dh: str, auth: str) -> None:
    raw_key = _b64url(p256dh)
    if len(raw_key) != UNCOMPRESSED_P256_POINT:
        raise ValidationError("Clé publique du navigateur invalide.")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
    except ValueError as exc:
        raise ValidationError("Clé publique du navigateur invalide.") from exc
    if len(_b64url(auth)) != 16:
        raise ValidationError("Secret d’authentification invalide (16 octets attendus).")
