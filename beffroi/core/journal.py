"""Writing and verifying the journal.

Each entry carries the SHA-256 of the previous one, so that altering or
removing a row breaks the chain at that point, which ``verify_journal`` names.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from beffroi.core.locks import lock_ordered_append
from beffroi.core.models import JournalEntry

GENESIS_HASH = "0" * 64
SYSTEM_LABEL = "Système"


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


def entry_hash(entry: JournalEntry) -> str:
    payload = [
        entry.seq,
        entry.at.astimezone(UTC).isoformat(),
        entry.actor_id,
        entry.actor_label,
        entry.organisation_id,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.object_label,
        entry.data,
        entry.prev_hash,
    ]
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


def record(
    *,
    actor,
    action: str,
    organisation=None,
    target: models.Model | None = None,
    data: dict | None = None,
) -> JournalEntry:
    """Append an entry; must be called inside the transaction of the change."""
    lock_ordered_append()
    last = JournalEntry.objects.order_by("-seq").values("seq", "hash").first()
    entry = JournalEntry(
        seq=(last["seq"] + 1) if last else 1,
        # Microseconds are kept by both SQLite and PostgreSQL, so the value
        # read back hashes the same.
        at=timezone.now(),
        actor_id=getattr(actor, "pk", None),
        actor_label=_actor_label(actor),
        organisation_id=getattr(organisation, "pk", None),
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_label=str(target)[:200] if target is not None else "",
        # Round-trip through JSON so that what is hashed is what is stored.
        data=json.loads(_canonical(data or {})),
        prev_hash=last["hash"] if last else GENESIS_HASH,
    )
    entry.hash = entry_hash(entry)
    entry.save(force_insert=True)
    return entry


def _actor_label(actor) -> str:
    if actor is None:
        return SYSTEM_LABEL
    name = actor.get_full_name() or actor.username
    return f"{name} ({actor.email})" if actor.email else name


@dataclass
class Break:
    seq: int
    reason: str


def verify(chunk_size: int = 2000) -> tuple[int, Break | None]:
    """Walk the chain; return the number of entries checked and the first break."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for entry in JournalEntry.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if entry.seq != expected_seq:
            return checked, Break(expected_seq, f"entrée n° {expected_seq} absente (la suivante est la n° {entry.seq})")
        if entry.prev_hash != expected_prev:
            return checked, Break(entry.seq, f"l’entrée n° {entry.seq} ne suit pas l’empreinte de l’entrée précédente")
        if entry_hash(entry) != entry.hash:
            return checked, Break(entry.seq, f"le contenu de l’entrée n° {entry.seq} a été modifié")
        expected_prev = entry.hash
        expected_seq += 1
        checked += 1
    return checked, None
