"""Checks on what a browser sends when it subscribes."""

import base64
import binascii
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ValidationError

MAX_ENDPOINT_LENGTH = 1000


def _b64url(value: str) -> bytes:
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


def validate_endpoint(endpoint: str) -> None:
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise ValidationError("Adresse d’abonnement trop longue.")
    parts = urlsplit(endpoint)
    local_test_service = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    if parts.scheme != "https" and not local_test_service:
        raise ValidationError("L’adresse d’abonnement doit être en https.")
    if not parts.hostname or not host_allowed(parts.hostname):
        raise ValidationError("Ce service de notification n’est pas reconnu.")


def validate_keys(p256dh: str, auth: str) -> None:
    raw_key = _b64url(p256dh)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw_key)
    except ValueError as exc:
        raise ValidationError("Clé publique du navigateur invalide.") from exc
    if len(_b64url(auth)) != 16:
        raise ValidationError("Secret d’authentification invalide (16 octets attendus).")
