"""The safe's journal, for its owner: who accessed or changed what, and when.

Appended inside the transaction of the access or change it records; reads
(an opened document, a download) are recorded too, since they are what a
beneficiary most needs to know about. Each entry chains to the previous
one of the same safe by SHA-256.
"""

import hashlib
import json
from datetime import UTC

from django.utils import timezone

from beffroi.safe.keys import seal_text, unseal_text
from beffroi.safe.models import Safe, SafeEvent

GENESIS = "0" * 64

ACTIONS = {
    "safe.open": "Ouverture du coffre",
    "safe.password_reset": "Mot de passe réinitialisé",
    "safe.phone": "Numéro de mobile modifié",
    "safe.export": "Export de toutes les données",
    "document.upload": "Document ajouté",
    "document.view": "Document consulté",
    "document.download": "Document téléchargé",
    "document.rename": "Document renommé",
    "document.move": "Document déplacé",
    "document.delete": "Document supprimé",
    "document.expiry": "Date d’expiration modifiée",
    "folder.create": "Dossier créé",
    "folder.rename": "Dossier renommé",
    "folder.delete": "Dossier supprimé",
    "contact.create": "Contact ajouté",
    "contact.update": "Contact modifié",
    "contact.delete": "Contact supprimé",
    "note.create": "Note ajoutée",
    "note.update": "Note modifiée",
    "note.delete": "Note supprimée",
    "appointment.create": "Rendez-vous ajouté",
    "appointment.update": "Rendez-vous modifié",
    "appointment.delete": "Rendez-vous supprimé",
    "link.propose": "Lien proposé par une organisation",
    "link.request": "Lien demandé",
    "link.confirm": "Lien confirmé",
    "link.decline": "Lien refusé",
    "link.break": "Lien rompu",
    "link.deposit": "Dépôt de documents autorisé ou retiré",
    "share.add": "Partagé",
    "share.remove": "Partage retiré",
    "safe.view": "Coffre consulté",
    "safe.phone_verified": "Numéro de mobile vérifié",
    "safe.recovery_codes": "Nouveaux codes de secours créés",
    "safe.reset_code_sent": "Code envoyé au mobile pour changer le mot de passe",
    "safe.reset_refused": "Code refusé pour changer le mot de passe",
    "safe.reset_waiting": "Mot de passe provisoire choisi avec un professionnel",
    "safe.reset_cancelled": "Mot de passe provisoire annulé",
    "safe.reset_superseded": "Mot de passe provisoire remplacé",
    "safe.reset_completed": "Mot de passe provisoire devenu le mot de passe du coffre",
    "safe.restricted_sign_in": "Connexion avec le mot de passe provisoire",
}

# What the owner is shown at their next visit, until they say they saw it
# (Safe.notices_seen_seq): everything about their password done without them.
NOTICES = frozenset({
    "safe.password_reset", "safe.reset_code_sent", "safe.reset_refused", "safe.reset_waiting",
    "safe.reset_completed", "safe.restricted_sign_in", "safe.phone", "safe.phone_verified", "safe.recovery_codes",
})


def _hash(event: SafeEvent) -> str:
    payload = [
        event.safe_id, event.seq, event.at.astimezone(UTC).isoformat(), event.actor_id, event.actor_label,
        event.organisation_id, event.action, event.item_type, event.item_id,
        bytes(event.label_sealed).hex() if event.label_sealed else "", event.prev_hash,
    ]
    return hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()


def record_event(*, safe: Safe, key: bytes, actor, action: str, organisation=None, item=None, label: str = "") -> SafeEvent:
    """Append to ``safe``'s journal; call inside the transaction of what it records."""
    Safe.objects.select_for_update().filter(pk=safe.pk).exists()  # one writer at a time per safe
    last = SafeEvent.objects.filter(safe=safe).order_by("-seq").values("seq", "hash").first()
    if actor is None:
        actor_label = "Système"
    elif organisation is not None:
        actor_label = f"{actor.display_name} ({organisation.name})"
    else:
        actor_label = actor.display_name
    event = SafeEvent(
        safe=safe,
        seq=(last["seq"] + 1) if last else 1,
        at=timezone.now(),
        actor=actor,
        actor_label=actor_label,
        organisation=organisation,
        action=action,
        item_type=item._meta.model_name if item is not None else "",
        item_id=str(item.pk) if item is not None else "",
        label_sealed=seal_text(key, safe, "event", label) if label else None,
        prev_hash=last["hash"] if last else GENESIS,
    )
    event.hash = _hash(event)
    event.save()
    return event


def readable(events, *, safe: Safe, key: bytes) -> list[dict]:
    """The journal as its owner reads it."""
    rows = []
    for event in events:
        rows.append({
            "at": event.at,
            "who": event.actor_label,
            "what": ACTIONS.get(event.action, event.action),
            "item": unseal_text(key, safe, "event", event.label_sealed) if event.label_sealed else "",
            "by_professional": event.organisation_id is not None,
        })
    return rows


def verify_chain(safe: Safe) -> int | None:
    """The seq of the first entry that does not chain, or None when all do."""
    previous = GENESIS
    for event in SafeEvent.objects.filter(safe=safe).order_by("seq"):
        if event.prev_hash != previous or _hash(event) != event.hash:
            return event.seq
        previous = event.hash
    return None
