"""Deleting an account, so that nothing can be recovered, backups included.

At once: the stored files, the safe's rows and the account go, and with the
rows the safe's wrapped key. A backup of the database still holds that
wrapped key, though, so the key-encryption key that wrapped it must go too:
``shred_retired_keys``, run daily by the worker, rotates the keyring after a
deletion (every remaining safe key is re-wrapped with the new key-encryption
key, which is cheap: keys, not files), and destroys, the next day, the former
key-encryption keys that nothing references any more. From then on, no
backup of the database can be opened: the key that opened it exists nowhere.
(The keyring file itself must be kept out of long-lived backups: see
docs/deploy.md.)
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from beffroi.core import journal
from beffroi.safe.keys import keyring
from beffroi.safe.models import Document, Safe
from beffroi.safe.services.documents import storage

DELETED = "safe.delete"
ROTATED = "safe.keyring_rotated"


def safe_delete(*, safe: Safe, actor, password_checked: bool) -> None:
    """The beneficiary deletes their account (after confirming their password)."""
    if not password_checked:
        raise ValidationError("Confirmez avec votre mot de passe.")
    names = list(Document.objects.filter(safe=safe).values_list("storage_name", flat=True))
    with transaction.atomic():
        user = safe.owner
        safe.delete()  # folders, documents, records, links, shares, journal: by cascade
        journal.record(actor=None, action=DELETED, data={"safes_deleted": 1})
        user.delete()
        transaction.on_commit(lambda: [storage().delete(name) for name in names])


def rotation_pending() -> bool:
    """An account was deleted since the last rotation. Read from the journal
    (append-only, in every backup) rather than kept as a flag that a cache
    could lose."""
    from beffroi.core.models import JournalEntry

    last = JournalEntry.objects.filter(action=ROTATED).order_by("-seq").values_list("seq", flat=True).first() or 0
    return JournalEntry.objects.filter(action=DELETED, seq__gt=last).exists()


def shred_retired_keys() -> dict:
    """Daily: destroy unreferenced former KEKs, then rotate if an account was deleted."""
    ring = keyring()
    if settings.SAFE_KEYRING:
        # A keyring from a secret is rotated by whoever holds the secret.
        return {"skipped": "trousseau fourni par un secret, en lecture seule"}
    destroyed = []
    referenced = set(Safe.objects.values_list("kek_id", flat=True).distinct())
    for kek_id in ring.key_ids:
        if kek_id != ring.current_id and kek_id not in referenced:
            ring.destroy(kek_id)
            destroyed.append(kek_id)
    rotated = keyring_rotate(actor=None) if rotation_pending() else None
    rewrapped = rewrap_safe_keys()
    return {"destroyed": destroyed, "rotated": rotated, "rewrapped": rewrapped}


def keyring_rotate(*, actor) -> str:
    """A new current KEK, journaled (the daily job, or an operator's command).
    The file changes first: if the entry cannot be written, the next run
    rotates once more, which costs a key, never a deletion left unshredded."""
    rotated = keyring().rotate()
    with transaction.atomic():
        journal.record(actor=actor, action=ROTATED, data={"kek": rotated})
    return rotated


def rewrap_safe_keys() -> int:
    """Re-wrap every safe key not wrapped by the current KEK (files are untouched)."""
    ring = keyring()
    count = 0
    for pk in list(Safe.objects.exclude(kek_id=ring.current_id).values_list("pk", flat=True)):
        with transaction.atomic():
            safe = Safe.objects.select_for_update().get(pk=pk)
            wrapped = ring.rewrap((safe.kek_id, bytes(safe.wrapped_key)), context=safe.context())
            safe.kek_id, safe.wrapped_key = wrapped.kek_id, wrapped.blob
            safe.save(update_fields=["kek_id", "wrapped_key"])
            count += 1
    return count
