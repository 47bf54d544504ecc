"""The dispatcher: sends the outbox's due messages, exactly once each.

One round: claim up to a batch of due messages and commit (status "sending",
a lease); hand them to the provider, concurrently; record each outcome,
only if the claim is still ours. A message is "sent" only once the provider
has said it accepted it.

A message found "sending" past its lease was claimed by a worker that died
(or froze) before recording the outcome: the provider may or may not have it.
It is claimed again, and the provider is asked about its tag first: found, it
is marked sent; not found, it is sent. The same check precedes every second
attempt, since a timeout or a lost connection leaves the same doubt.

Claims are exclusive: on PostgreSQL, SELECT … FOR UPDATE SKIP LOCKED lets
dispatchers run side by side on different messages; SQLite has a single
writer and its transactions here take the write lock at BEGIN (IMMEDIATE),
so a claim's read and update cannot interleave with another's.
"""

import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from beffroi.notify.sms.base import BaseBackend, Outcome, Outgoing, get_backend
from beffroi.notify.sms.lifecycle import SMS_LIFECYCLE
from beffroi.notify.sms.models import SmsMessage

logger = logging.getLogger(__name__)

S = SmsMessage.Status
BATCH = 64
# Wait after the 1st, 2nd… failed attempt; after the last, the message fails.
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# Purposes whose text is a secret (one-time codes): erased once the message is sent or failed.
SECRET_PURPOSES = {"code", "verify"}
LEASE_MARGIN_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Claim:
    pk: int
    tag: str
    to: str
    text: str
    purpose: str
    attempts: int  # this one included
    lease_end: datetime  # identifies the claim (see SmsMessage.next_attempt_at)

    @property
    def outgoing(self) -> Outgoing:
        return Outgoing(
            tag=self.tag,
            to=self.to,
            text=self.text,
            check_first=self.attempts > 1,
            # Taken over after its last attempt: only the provider's answer decides.
            may_send=self.attempts <= MAX_ATTEMPTS,
        )


def dispatch_due(*, now: datetime | None = None, limit: int = 1000, backend: BaseBackend | None = None) -> dict:
    """Send up to ``limit`` due messages; counts of what happened.

    ``now`` fixes the clock (tests); by default it is read at each step.
    """
    clock = (lambda: now) if now is not None else timezone.now
    backend = backend or get_backend()
    done: Counter = Counter()
    while done["claimed"] < limit:
        started = time.monotonic()
        claims = claim_due(now=clock(), size=min(BATCH, limit - done["claimed"]))
        if not claims:
            break
        done["claimed"] += len(claims)
        deadline = started + settings.SMS_LEASE_SECONDS - LEASE_MARGIN_SECONDS
        outcomes = backend.deliver([claim.outgoing for claim in claims], deadline=deadline)
        with transaction.atomic():
            for claim, outcome in zip(claims, outcomes, strict=True):
                done[record_outcome(claim, outcome, now=clock())] += 1
    return dict(done)


def claim_due(*, now: datetime, size: int) -> list[Claim]:
    """Mark up to ``size`` due messages "sending" with a lease, and commit."""
    lease_end = now + timedelta(seconds=settings.SMS_LEASE_SECONDS)
    with transaction.atomic():
        rows = list(
            SmsMessage.objects.filter(status__in=SmsMessage.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)  # no effect on SQLite, which serialises writers
            .values_list("pk", "tag", "to", "text", "purpose", "status", "attempts")[:size]
        )
        if not rows:
            return []
        for _pk, tag, _to, _text, _purpose, status, attempts in rows:
            SMS_LIFECYCLE.target(status, "claim" if status == S.QUEUED else "take_over")
            if status == S.SENDING:
                logger.warning("SMS %s repris après l’arrêt du worker qui l’envoyait (tentative %d)", tag, attempts)
        SmsMessage.objects.filter(pk__in=[row[0] for row in rows]).update(
            status=S.SENDING, attempts=F("attempts") + 1, next_attempt_at=lease_end
        )
    return [
        Claim(pk=pk, tag=tag, to=to, text=text, purpose=purpose, attempts=attempts + 1, lease_end=lease_end)
        for pk, tag, to, text, purpose, _status, attempts in rows
    ]


def record_outcome(claim: Claim, outcome: Outcome, *, now: datetime) -> str:
    """Apply the outcome if the claim is still current; what was recorded."""
    if outcome.kind == Outcome.SENT:
        action, recorded = "accepted", "found" if outcome.found else "sent"
        fields = {"provider_id": outcome.provider_id[:64], "sent_at": now, "next_attempt_at": None, "last_error": ""}
    elif outcome.kind == Outcome.NOT_STARTED:
        # Not handed over: due again at once; the next claim asks the provider first.
        action, recorded = "retry", "released"
        fields = {"next_attempt_at": now}
    elif outcome.kind == Outcome.RETRY and claim.attempts < MAX_ATTEMPTS:
        action, recorded = "retry", "retried"
        fields = {"next_attempt_at": now + BACKOFF[claim.attempts - 1], "last_error": outcome.reason[:200]}
    else:
        action, recorded = "give_up", "failed"
        reason = outcome.reason
        if outcome.kind == Outcome.RETRY:
            reason = f"Abandon après {claim.attempts} tentatives. {reason}"
        fields = {"next_attempt_at": None, "last_error": reason[:200]}
    fields["status"] = SMS_LIFECYCLE.target(S.SENDING, action)
    if fields["status"] in (S.SENT, S.FAILED) and claim.purpose in SECRET_PURPOSES:
        fields["text"] = ""
    current = SmsMessage.objects.filter(pk=claim.pk, status=S.SENDING, next_attempt_at=claim.lease_end)
    if not current.update(**fields):
        # Our lease ran out and another dispatcher took the message over; it
        # asks the provider before sending, and records the outcome itself.
        logger.warning("SMS %s : résultat ignoré, le message a été repris par un autre worker", claim.tag)
        return "superseded"
    if recorded == "failed":
        logger.warning("SMS %s en échec : %s", claim.tag, fields["last_error"])
    return recorded
