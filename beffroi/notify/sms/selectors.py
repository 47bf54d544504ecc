"""Reads of the SMS outbox (for the back office)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from beffroi.core.models import Organisation
from beffroi.notify.sms.models import SmsMessage


@dataclass(frozen=True)
class SmsCounts:
    sent: int
    failed: int
    queued: int  # not yet sent: waiting, or being sent


def sms_counts(organisation: Organisation | None, since: datetime) -> SmsCounts:
    """The organisation's messages created since ``since`` (None: the platform's own)."""
    messages = SmsMessage.objects.filter(created_at__gte=since)
    if organisation is None:
        messages = messages.filter(organisation__isnull=True)
    else:
        messages = messages.filter(organisation=organisation)
    S = SmsMessage.Status
    counts = messages.aggregate(
        sent=Count("pk", filter=Q(status=S.SENT)),
        failed=Count("pk", filter=Q(status=S.FAILED)),
        queued=Count("pk", filter=Q(status__in=SmsMessage.PENDING)),
    )
    return SmsCounts(**counts)
