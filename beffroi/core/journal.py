"""Writing the journal and verifying its chain.

Each entry carries an HMAC-SHA-256 (``mac``) of its content and of the
previous entry's MAC, under a key kept outside the database
(``journal_keys``). Altering, inserting or removing a row breaks the chain at
that point, which ``verify_chain`` names; and without the key nobody can
recompute the chain after a change, as a plain hash would allow. What a chain
cannot show alone, entries removed at its end, the anchors show
(``journal_anchors``).

Entries written before the keys existed (``key_id`` empty) carry the plain
SHA-256 of their content and of the previous one. Migration 0005 appended a
signed entry after them, whose MAC covers the last of them: they cannot be
recomputed unnoticed either.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from beffroi.core.journal_keys import JournalKeyError, JournalKeys, journal_keys
from beffroi.core.locks import lock_ordered_append
from beffroi.core.models import JournalEntry

GENESIS_MAC = "0" * 64
SYSTEM_LABEL = "Système"
# Domain separation: these bytes are never signed for anything else.
MAC_LABEL = "beffroi-journal-v1"


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


def _content(entry) -> list:
    return [
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
    ]


def entry_mac(entry, key: bytes) -> str:
    """The MAC of a signed entry (its key id is signed too)."""
    message = _canonical([MAC_LABEL, entry.key_id, *_content(entry), entry.prev_mac])
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def legacy_hash(entry) -> str:
    """The plain SHA-256 that entries written before the keys carry."""
    return hashlib.sha256(_canonical([*_content(entry), entry.prev_mac]).encode()).hexdigest()


def record(
    *,
    actor,
    action: str,
    organisation=None,
    target: models.Model | None = None,
    data: dict | None = None,
) -> JournalEntry:
    """Append an entry; must be called inside the transaction of the change."""
    return _append(
        JournalEntry,
        "default",
        actor_id=getattr(actor, "pk", None),
        actor_label=_actor_label(actor),
        organisation_id=getattr(organisation, "pk", None),
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_label=str(target)[:200] if target is not None else "",
        data=data,
    )


def seal_unsigned(model=JournalEntry, using: str = "default"):
    """Append a signed entry after entries written without a key, if the
    journal ends with one (run once, by migration 0005); returns it, or None."""
    last = model.objects.using(using).order_by("-seq").first()
    if last is None or last.key_id:
        return None
    unsigned = model.objects.using(using).filter(key_id="").count()
    return _append(
        model,
        using,
        actor_id=None,
        actor_label=SYSTEM_LABEL,
        organisation_id=None,
        action="journal.seal",
        object_type="",
        object_id="",
        object_label="",
        data={"unsigned_entries": unsigned, "last_unsigned_hash": last.mac},
    )


def _append(model, using: str, *, data: dict | None, **fields):
    lock_ordered_append(using)
    keys = journal_keys()
    last = model.objects.using(using).order_by("-seq").first()
    _check_signer(model, using, last, keys)
    entry = model(
        seq=(last.seq + 1) if last else 1,
        # Microseconds are kept by both SQLite and PostgreSQL, so the value
        # read back signs the same.
        at=timezone.now(),
        # Round-trip through JSON so that what is signed is what is stored.
        data=json.loads(_canonical(data or {})),
        prev_mac=last.mac if last else GENESIS_MAC,
        key_id=keys.current_id,
        **fields,
    )
    entry.mac = entry_mac(entry, keys.get(keys.current_id))
    entry.save(force_insert=True, using=using)
    return entry


def _check_signer(model, using: str, last, keys: JournalKeys) -> None:
    """Refuse to extend a chain this process could not verify: a machine with
    another key (or without the new one after a rotation) would otherwise
    write entries that no longer verify, and an entry added behind the
    application's back would be signed over."""
    if last is None:
        return
    if not last.key_id:
        # Only the journals from before the keys end unsigned, until migration 0005.
        if model.objects.using(using).exclude(key_id="").exists():
            raise JournalKeyError(
                f"La dernière entrée du journal (n° {last.seq}) n’est pas signée alors que d’autres le sont : "
                "elle a été ajoutée hors de l’application (manage.py verify_journal)."
            )
        return
    key = keys.get(last.key_id)
    if key is None:
        raise JournalKeyError(
            f"La dernière entrée du journal (n° {last.seq}) est signée par la clé « {last.key_id} », "
            "absente de JOURNAL_KEYS sur cette machine : mettez JOURNAL_KEYS à jour et redémarrez ses processus."
        )
    if not hmac.compare_digest(entry_mac(last, key), last.mac):
        raise JournalKeyError(
            f"La dernière entrée du journal (n° {last.seq}) ne se vérifie pas avec la clé « {last.key_id} » "
            "de cette machine : la clé diffère d’une machine à l’autre, ou l’entrée a été modifiée "
            "(manage.py verify_journal)."
        )


def _actor_label(actor) -> str:
    if actor is None:
        return SYSTEM_LABEL
    name = actor.get_full_name() or actor.username
    return f"{name} ({actor.email})" if actor.email else name


@dataclass
class Break:
    seq: int
    reason: str


@dataclass
class ChainCheck:
    checked: int
    broken: Break | None
    last_seq: int  # of the last entry read (0: empty journal)
    macs: dict[int, str] = field(default_factory=dict)  # at the positions asked for


def verify_chain(*, keys: JournalKeys | None = None, wanted=frozenset(), chunk_size: int = 2000) -> ChainCheck:
    """Walk the chain with the keys; return the entries checked, the first
    break, and the MACs found at the positions ``wanted`` (the anchors')."""
    keys = keys or journal_keys()
    expected_prev = GENESIS_MAC
    expected_seq = 1
    signer_age = -1  # no signed entry yet
    checked = 0
    last = None
    macs = {}

    def broken(seq: int, reason: str) -> ChainCheck:
        return ChainCheck(checked, Break(seq, reason), last.seq if last else 0, macs)

    for entry in JournalEntry.objects.order_by("seq").iterator(chunk_size=chunk_size):
        seq = entry.seq
        if seq != expected_seq:
            return broken(expected_seq, f"entrée n° {expected_seq} absente (la suivante est la n° {seq})")
        if entry.prev_mac != expected_prev:
            return broken(seq, f"l’entrée n° {seq} ne suit pas l’empreinte de l’entrée précédente")
        if not entry.key_id:
            if signer_age >= 0:
                return broken(seq, f"l’entrée n° {seq} n’est pas signée alors que des entrées signées la précèdent")
            if legacy_hash(entry) != entry.mac:
                return broken(seq, f"le contenu de l’entrée n° {seq} a été modifié")
        else:
            key = keys.get(entry.key_id)
            if key is None:
                return broken(seq, f"l’entrée n° {seq} est signée par la clé « {entry.key_id} », absente de JOURNAL_KEYS")
            if keys.age(entry.key_id) < signer_age:
                return broken(
                    seq, f"l’entrée n° {seq} est signée par une clé plus ancienne (« {entry.key_id} ») que la précédente"
                )
            if not hmac.compare_digest(entry_mac(entry, key), entry.mac):
                return broken(seq, f"le contenu de l’entrée n° {seq} a été modifié")
            signer_age = keys.age(entry.key_id)
        if seq in wanted:
            macs[seq] = entry.mac
        expected_prev = entry.mac
        expected_seq += 1
        checked += 1
        last = entry
    if last is not None and not last.key_id:
        # Migration 0005 signs after the unsigned entries: the signed ones were removed.
        return broken(last.seq + 1, f"le journal s’arrête à l’entrée n° {last.seq}, qui n’est pas signée")
    return ChainCheck(checked, None, last.seq if last else 0, macs)
