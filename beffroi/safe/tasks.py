"""The worker's side of the safe: reminders handed to the SMS outbox as they
fall due, and the daily upkeep (integrity re-check, key shredding).

One ``hand_over_reminders`` job waits for the earliest pending reminder; a
run hands over everything due, then schedules the next run. A run cut short
by a killed worker is given back to the queue by the worker's heartbeats,
and hands over what is still pending: a reminder handed over is marked so in
the same transaction as its SMS is queued, so it is never handed over twice.
The worker started in place of the killed one does not wait for that: it
schedules a run at once (``maintenance.ensure_chains``).
"""

from django.db import transaction
from django.db.models import Min
from django_tasks import task

from beffroi.core.tasks import ensure_waiting_run
from beffroi.safe.models import Reminder
from beffroi.safe.services.reminders import BATCH, hand_over_due


@task()
def hand_over_reminders() -> int:
    total = 0
    try:
        while True:
            count = hand_over_due(limit=BATCH)
            total += count
            if count < BATCH:
                break
    finally:
        ensure_reminders_scheduled()
    return total


def ensure_reminders_scheduled() -> bool:
    """A run waits for the earliest pending reminder (unless one already does)."""
    with transaction.atomic():
        earliest = Reminder.objects.filter(status=Reminder.Status.PENDING).aggregate(at=Min("due_at"))["at"]
        return earliest is not None and ensure_waiting_run(hand_over_reminders, at=earliest)


def _push(safe_id: int, payload: dict, *, ttl: int) -> dict:
    """One Web Push to each of the safe's devices; gone subscriptions are removed."""
    import json

    from beffroi.notify.push.sender import Message, send_batch
    from beffroi.safe.models import SafePushSubscription

    subscriptions = SafePushSubscription.objects.filter(safe_id=safe_id)
    data = json.dumps(payload, ensure_ascii=False).encode()
    messages = [Message(endpoint=e, p256dh=k, auth=a, payload=data, ttl=ttl, urgency="high")
                for e, k, a in subscriptions.values_list("endpoint", "p256dh", "auth")]
    outcomes = send_batch(messages) if messages else []
    gone = [o.endpoint for o in outcomes if o.gone]
    if gone:
        SafePushSubscription.objects.filter(endpoint__in=gone).delete()
    return {"sent": sum(o.delivered for o in outcomes), "removed": len(gone)}


@task()
def push_reminder(safe_id: int, text: str) -> dict:
    """Web Push of a reminder to the beneficiary's devices (the SMS's fixed wording: shown on a lock screen)."""
    return _push(safe_id, {"title": "Rappel de votre coffre-fort", "body": text, "url": "/coffre/rendez-vous/",
                           "tag": "coffre-rappel"}, ttl=6 * 3600)


@task()
def push_notice(safe_id: int, text: str) -> dict:
    """Web Push of a security notice (services/alerts.py: fixed wording, nothing from the safe)."""
    return _push(safe_id, {"title": "Votre coffre-fort", "body": text, "url": "/coffre/", "tag": "coffre-securite"},
                 ttl=24 * 3600)


def daily_upkeep() -> dict:
    from beffroi.safe.services.deletion import shred_retired_keys
    from beffroi.safe.services.documents import integrity_check

    ensure_reminders_scheduled()
    return {"integrity": integrity_check(), "keys": shred_retired_keys()}
