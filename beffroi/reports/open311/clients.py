"""API keys of Open311 clients: created once, kept only as a SHA-256, counted per key.

A key is 256 random bits: like the follow-up tokens, it needs no slow hash to
resist guessing, and finding a client by the hash of its key is one index read.
"""

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from beffroi.core import journal, throttle
from beffroi.reports.models import Open311Client

KEY_BYTES = 32
MAX_KEY_LENGTH = 200


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def open311_client_create(*, organisation, name: str) -> tuple[Open311Client, str]:
    """A client allowed to file reports in this commune, and its key (returned once, never stored)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Donnez un nom au client (par exemple : FixMyStreet)."})
    if len(name) > Open311Client._meta.get_field("name").max_length:
        raise ValidationError({"name": "Nom trop long : 100 caractères au plus."})
    if not organisation.is_commune:
        raise ValidationError(
            {"organisation": "Une clé Open311 est rattachée à une commune : l’API répond sur les noms d’hôte des communes."}
        )
    key = new_key()
    client = Open311Client.objects.create(organisation=organisation, name=name, key_hash=key_hash(key))
    journal.record(actor=None, organisation=organisation, action="open311_client.create", target=client,
                   data={"name": name})
    return client, key


def client_for_key(key: str, commune) -> Open311Client | None:
    """The active client of this commune that holds this key, if any."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    return Open311Client.objects.filter(key_hash=key_hash(key), is_active=True, organisation=commune).first()


def allow_request(client: Open311Client) -> bool:
    """Count one filing for this key, wherever it connects from; False past OPEN311_REQUESTS_PER_HOUR."""
    return throttle.allow(
        scope="open311-post", identity=str(client.pk), limit=settings.OPEN311_REQUESTS_PER_HOUR, window_seconds=3600
    )
