"""Daily upkeep of the outbox: what is kept, and no pending message forgotten.

The caps' counters of the day before yesterday and older are deleted too.
"""

from datetime import timedelta

from django.utils import timezone

from beffroi.notify.sms.models import SmsMessage
from beffroi.notify.sms.tasks import ensure_dispatch_scheduled

# Numbers and texts of finished messages are erased after this; the rows stay,
# for the counts.
RETENTION = timedelta(days=30)


def erase_old_messages(*, now=None) -> int:
    cutoff = (now or timezone.now()) - RETENTION
    finished = SmsMessage.objects.filter(status__in=[SmsMessage.Status.SENT, SmsMessage.Status.FAILED])
    return finished.filter(created_at__lt=cutoff).exclude(to="", text="").update(to="", text="")


def sms_housekeeping() -> dict:
    from beffroi.notify.sms.caps import forget_old_counts

    return {"erased": erase_old_messages(), "counters": forget_old_counts(timezone.localdate()),
            "dispatch_scheduled": ensure_dispatch_scheduled()}
