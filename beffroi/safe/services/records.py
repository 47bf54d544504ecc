"""Contacts, notes and appointments: their texts sealed with the safe key."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from beffroi.safe.access import Viewer
from beffroi.safe.events import record_event
from beffroi.safe.keys import safe_key, seal_data, unseal_data
from beffroi.safe.models import Appointment, Contact, Note, Safe
from beffroi.safe.names import clean_name

FIELDS = {
    "contact": {"name": 120, "organisation": 120, "phone": 30, "email": 120, "address": 300, "note": 1000},
    "note": {"title": 120, "body": 10_000},
    "appointment": {"title": 120, "place": 300, "note": 1000},
}
REQUIRED = {"contact": "name", "note": "title", "appointment": "title"}
MODELS = {"contact": Contact, "note": Note, "appointment": Appointment}
# Reminders an appointment may have, in minutes before it.
REMINDER_CHOICES = {10_080: "une semaine avant", 1440: "la veille", 120: "deux heures avant", 60: "une heure avant"}


# One-line fields, names and titles shown in lists and in the journal: without invisible characters (names.py).
ONE_LINE = {"name", "organisation", "phone", "email", "title"}


def clean_fields(kind: str, data: dict) -> dict:
    cleaned, errors = {}, {}
    for name, limit in FIELDS[kind].items():
        value = (data.get(name) or "").strip()
        if name in ONE_LINE:
            value = clean_name(value)
        if len(value) > limit:
            errors[name] = f"{limit} caractères au plus."
        cleaned[name] = value
    if not cleaned[REQUIRED[kind]]:
        errors[REQUIRED[kind]] = "Ce champ est obligatoire."
    if errors:
        raise ValidationError(errors)
    return cleaned


def label_of(kind: str, data: dict) -> str:
    return data[REQUIRED[kind]]


def read(item, key: bytes) -> dict:
    kind = item._meta.model_name
    return unseal_data(key, item.safe, kind, item.data_sealed)


def _owner_only(viewer: Viewer) -> None:
    if not viewer.is_owner:
        raise PermissionError


def _check_appointment(starts_at, offsets) -> list[int]:
    if starts_at is None:
        raise ValidationError({"starts_at": "Indiquez la date et l’heure."})
    if starts_at < timezone.now() - timedelta(days=366):
        raise ValidationError({"starts_at": "Cette date est trop ancienne."})
    offsets = sorted({int(o) for o in offsets or []}, reverse=True)
    if any(o not in REMINDER_CHOICES for o in offsets):
        raise ValidationError({"reminders": "Rappel inconnu."})
    return offsets


@transaction.atomic
def record_save(*, viewer: Viewer, safe: Safe, kind: str, data: dict, item=None, starts_at=None, reminders=()):
    """Create or update a contact, a note or an appointment."""
    _owner_only(viewer)
    fields = clean_fields(kind, data)
    key = safe_key(safe)
    model = MODELS[kind]
    creating = item is None
    if creating:
        item = model(safe=safe)
    elif item.safe_id != safe.pk:
        raise PermissionError
    item.data_sealed = seal_data(key, safe, kind, fields)
    if kind == "appointment":
        item.reminder_offsets = _check_appointment(starts_at, reminders)
        item.starts_at = starts_at
    item.save()
    if kind == "appointment":
        from beffroi.safe.services.reminders import schedule_appointment_reminders

        schedule_appointment_reminders(item)
    record_event(safe=safe, key=key, actor=viewer.user, action=f"{kind}.{'create' if creating else 'update'}",
                 item=item, label=label_of(kind, fields))
    return item


@transaction.atomic
def record_delete(*, viewer: Viewer, item) -> None:
    _owner_only(viewer)
    kind = item._meta.model_name
    key = safe_key(item.safe)
    label = label_of(kind, read(item, key))
    record_event(safe=item.safe, key=key, actor=viewer.user, action=f"{kind}.delete", label=label)
    item.delete()
