"""Checks on what a browser sends when it subscribes."""

import base64
import binascii
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

MAX_ENDPOINT_LENGTH = 1000
# Printable ASCII without spaces or backslashes: what push services hand out.
# Anything else (control characters, NUL, which PostgreSQL refuses in text)
# is refused before it reaches the database or an HTTP client.
_ENDPOINT_CHARACTERS = re.compile(r"[!-\[\]-~]+")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")
LOCAL_HOSTS = ("127.0.0.1", "localhost")
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
    local_test_service = parts.scheme == "http" and hostname in LOCAL_HOSTS
    if parts.scheme != "https" and not local_test_service:
        raise ValidationError("L’adresse d’abonnement doit être en https.")
    if not hostname or not host_allowed(hostname):
        raise ValidationError("Ce service de notification n’est pas reconnu.")


def endpoint_pattern(allowed_hosts: list[str]) -> str:
    """A regular expression (ECMAScript and Python) of the endpoints
    ``validate_endpoint`` accepts with these hosts, for the API's document."""
    label = "[A-Za-z0-9-]+"
    hosts, local = [], []
    for allowed in allowed_hosts:
        allowed = allowed.lower()
        if allowed in LOCAL_HOSTS:
            local.append(re.escape(allowed))
        elif allowed.startswith("."):
            hosts.append(rf"{label}(\.{label})*{re.escape(allowed)}")
        else:
            hosts.append(re.escape(allowed))
    path = r"/[!-\[\]-~]*"
    choices = [f"https://({'|'.join(hosts)}){path}"] if hosts else []
    if local:  # a local push service, for tests and benchmarks: a port, and plain http
        choices.append(f"https?://({'|'.join(local)})(:[1-9][0-9]{{0,3}})?{path}")
    return f"^({'|'.join(choices)})$" if choices else "^$"


def validate_keys(p256dh: str, auth: str) -> None:
    """What the document can state: 65 bytes of an uncompressed point, a
    16-byte secret. Whether the point is on the curve shows when a message
    is encrypted for it: the sender then drops the subscription."""
    raw_key = _b64url(p256dh)
    if len(raw_key) != UNCOMPRESSED_P256_POINT or raw_key[0] != 4:
        raise ValidationError("Clé publique du navigateur invalide.")
    if len(_b64url(auth)) != 16:
        raise ValidationError("Secret d’authentification invalide (16 octets attendus).")
