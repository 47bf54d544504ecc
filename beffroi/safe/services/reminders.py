"""Reminders of appointments and of documents' expiry dates.

A reminder falls due; ``hand_over_due`` turns it into an SMS of the outbox
(``beffroi.notify.sms``) in the same transaction that marks it handed over,
with the reminder's id as the message's idempotency tag. The outbox then
sends it, counts it as sent only once the provider accepted it, and never
sends a tag twice: a reminder is sent once, whoever crashes when.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from beffroi.core.tasks import enqueue
from beffroi.safe.models import Appointment, Document, Reminder, SafePushSubscription

PARIS = ZoneInfo("Europe/Paris")
EXPIRY_DAYS_BEFORE = (60, 30, 7)
EXPIRY_HOUR = time(10, 0)
BATCH = 500


def _replace(subject_filter: dict, dues: list[datetime], safe) -> None:
    Reminder.objects.filter(status=Reminder.Status.PENDING, **subject_filter).update(status=Reminder.Status.CANCELLED)
    now = timezone.now()
    if Reminder.objects.bulk_create(Reminder(safe=safe, due_at=due, **subject_filter) for due in dues if due > now):
        from beffroi.safe.tasks import ensure_reminders_scheduled

        ensure_reminders_scheduled()


def schedule_appointment_reminders(appointment: Appointment) -> None:
    dues = [appointment.starts_at - timedelta(minutes=offset) for offset in appointment.reminder_offsets]
    _replace({"appointment": appointment}, dues, appointment.safe)


def schedule_expiry_reminders(document: Document) -> None:
    dues = []
    if document.expires_on:
        for days in EXPIRY_DAYS_BEFORE:
            day = document.expires_on - timedelta(days=days)
            dues.append(datetime.combine(day, EXPIRY_HOUR, tzinfo=PARIS))
    _replace({"document": document}, dues, document.safe)


def _text(reminder: Reminder) -> str:
    """Fixed wording: only a date and an hour. No title, place, name nor link from
    the safe (written by anyone, read on a lock screen, sent by the town)."""
    if reminder.appointment_id:
        when = timezone.localtime(reminder.appointment.starts_at, PARIS)
        return (f"Rappel : vous avez un rendez-vous le {when:%d/%m} à {when:%H}h{when:%M}. "
                "Détails dans votre coffre-fort.")
    return (f"Rappel : un document de votre coffre-fort expire le {reminder.document.expires_on:%d/%m/%Y}. "
            "Détails dans votre coffre-fort.")


def hand_over_due(*, now=None, limit: int = BATCH) -> int:
    """Hand the due reminders over to the SMS outbox; returns how many."""
    from beffroi.notify.sms import caps
    from beffroi.notify.sms.caps import SmsRefused
    from beffroi.notify.sms.services import sms_enqueue
    from beffroi.notify.sms.tasks import ensure_dispatch_scheduled
    from beffroi.safe.services.phone import verified_phone
    from beffroi.safe.tasks import push_reminder

    now = now or timezone.now()
    with transaction.atomic():
        due = Reminder.objects.filter(status=Reminder.Status.PENDING, due_at__lte=now).order_by("due_at")
        if connection.features.has_select_for_update_skip_locked:
            # Only the reminders' rows are locked (the related rows come from outer joins).
            due = due.select_for_update(skip_locked=True, of=("self",))
        due = list(due.select_related("safe", "appointment", "document")[:limit])
        queued = False
        pushed = set(SafePushSubscription.objects.filter(safe__in={r.safe_id for r in due}).values_list("safe_id", flat=True))
        safes = {r.safe_id: r.safe for r in due}
        phones = {safe_id: verified_phone(safe) for safe_id, safe in safes.items()}  # unverified: no reminder
        # The organisation that opened a safe pays its reminders (sms_enqueue below, same caps).
        caps.hold([caps.caps_for(number=phone, purpose="reminder", account=f"safe:{safe_id}",
                                 organisation_id=safes[safe_id].opened_with_id)
                   for safe_id, phone in phones.items() if phone], timezone.localdate())
        for reminder in due:
            phone = phones[reminder.safe_id]
            text = _text(reminder)
            sent = False
            if phone:
                try:
                    # One sending job for the whole batch (below), not one per message.
                    sms_enqueue(to=phone, text=text, organisation=reminder.safe.opened_with, purpose="reminder",
                                verified=True, account=f"safe:{reminder.safe_id}", tag=f"r{reminder.pk}",
                                dispatch=False)
                    sent = queued = True
                except SmsRefused:
                    pass  # a cap of the day (counted there): the push, if any, still goes
            if reminder.safe_id in pushed:
                # Web Push as well, where the beneficiary enabled it on a device (at most once: its own job).
                enqueue(push_reminder, reminder.safe_id, text)
            reminder.status = Reminder.Status.QUEUED if sent or reminder.safe_id in pushed else Reminder.Status.CANCELLED
            reminder.handed_over_at = now
        # One UPDATE per status: bulk_update's CASE per row cost more than the rest of the hand-over.
        for status in {reminder.status for reminder in due}:
            Reminder.objects.filter(pk__in=[r.pk for r in due if r.status == status]).update(
                status=status, handed_over_at=now
            )
        if queued:
            ensure_dispatch_scheduled()
    return len(due)
