"""What the town's SMS may not be turned into: a way to flood a number.

Every message passes here (``services.sms_enqueue``) before it is queued:

- a number its owner has not verified (typed a code sent to it) receives
  nothing but verification codes (``UNVERIFIED_PURPOSES``);
- each day, a number receives at most ``SMS_DAILY_MAX_PER_NUMBER`` messages,
  of which at most ``SMS_DAILY_MAX_VERIFY_PER_NUMBER`` verification codes,
  whatever the accounts that ask; an account (a safe) at most
  ``SMS_DAILY_MAX_PER_ACCOUNT``;
- each day, the organisation that pays (``SmsMessage.organisation``) sends
  at most ``SMS_DAILY_BUDGET_PER_ORGANISATION``, the platform's own messages
  (no organisation) at most ``SMS_DAILY_BUDGET_PLATFORM``.

A message beyond a cap is refused at once, not held: what is sent is a
one-time code (worthless after ten minutes) or a reminder (worthless once
late). The first refusal of a day by a spent budget e-mails the
organisation's administrators (the operators for the platform), once.

Numbers are counted by a keyed hash: the counters never hold one in clear.
The caps of one message are taken in one order for all (by key), each by a
conditional UPDATE (``count < cap``), inside a savepoint that a refusal rolls
back; a batch locks the rows of all its messages first, in that order (``hold``).
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.crypto import salted_hmac

from beffroi.notify.sms.models import SmsDailyCount

# Purposes an unverified number may receive.
UNVERIFIED_PURPOSES = frozenset({"verify"})

UNVERIFIED = "Ce numéro n’a pas encore été vérifié : il ne reçoit que son code de vérification."
REFUSALS = {
    "budget": "Le nombre de SMS prévu pour aujourd’hui est atteint : réessayez demain.",
    "account": "Ce compte a reçu assez de SMS aujourd’hui : réessayez demain.",
    "number": "Ce numéro a reçu assez de SMS aujourd’hui : réessayez demain.",
    "verify": "Ce numéro a reçu assez de codes de vérification aujourd’hui : réessayez demain.",
}


class SmsRefused(ValidationError):
    """Not queued: the number is unverified, or a cap of the day is reached (``code``)."""


@dataclass(frozen=True)
class Cap:
    kind: str  # a key of REFUSALS
    key: str
    limit: int


def number_digest(number: str) -> str:
    """The number's keyed hash (SECRET_KEY): what the counters know of it."""
    return salted_hmac("beffroi.sms.number", number, algorithm="sha256").hexdigest()


def caps_for(*, number: str, purpose: str, account: str, organisation_id: int | None) -> list[Cap]:
    """The caps one message takes, in the order they are always taken (no deadlock between two senders)."""
    if organisation_id is None:
        caps = [Cap("budget", "platform", settings.SMS_DAILY_BUDGET_PLATFORM)]
    else:
        caps = [Cap("budget", f"organisation:{organisation_id}", settings.SMS_DAILY_BUDGET_PER_ORGANISATION)]
    if account:
        caps.append(Cap("account", f"account:{account}"[:80], settings.SMS_DAILY_MAX_PER_ACCOUNT))
    digest = number_digest(number)
    caps.append(Cap("number", f"number:{digest}", settings.SMS_DAILY_MAX_PER_NUMBER))
    if purpose in UNVERIFIED_PURPOSES:
        caps.append(Cap("verify", f"verify:{digest}", settings.SMS_DAILY_MAX_VERIFY_PER_NUMBER))
    # One order for every sender, by key: the rows are locked in it, so that no two senders wait on each other.
    return sorted(caps, key=lambda cap: cap.key)


def hold(caps_of_messages: list[list[Cap]], day: date) -> None:
    """Before a batch takes the caps of many messages in one transaction:
    lock all their rows at once, in the one order (by key). Taken message by
    message, the batch would hold one message's rows while asking for the
    next one's, in an order a single sender with the same rows would cross."""
    keys = sorted({cap.key for caps in caps_of_messages for cap in caps})
    if not keys or not connection.features.has_select_for_update:
        return  # SQLite: one writer at a time, no row to lock
    SmsDailyCount.objects.bulk_create([SmsDailyCount(key=key, day=day) for key in keys], ignore_conflicts=True)
    list(SmsDailyCount.objects.select_for_update().filter(day=day, key__in=keys).order_by("key").values_list("pk"))


def _take_one(cap: Cap, day: date) -> bool:
    if cap.limit <= 0:
        return False
    counters = SmsDailyCount.objects.filter(key=cap.key, day=day, count__lt=cap.limit)
    if counters.update(count=F("count") + 1):
        return True
    if SmsDailyCount.objects.filter(key=cap.key, day=day).exists():
        return False  # spent
    try:
        with transaction.atomic():
            SmsDailyCount.objects.create(key=cap.key, day=day, count=1)
        return True
    except IntegrityError:  # created meanwhile by another sender (who waited for it to commit)
        return bool(counters.update(count=F("count") + 1))


def take(caps: list[Cap], day: date) -> Cap | None:
    """Take one of each cap; the first that is spent, or None. Call inside a
    savepoint that the caller rolls back when a cap is spent."""
    for cap in caps:
        if not _take_one(cap, day):
            return cap
    return None


def note_refusal(cap: Cap, day: date, organisation_id: int | None) -> None:
    """Count the refusal; the first one of the day by a spent budget queues the e-mail."""
    from beffroi.core.tasks import enqueue
    from beffroi.notify.sms.tasks import send_budget_alert

    counters = SmsDailyCount.objects.filter(key=cap.key, day=day)
    if not counters.update(refused=F("refused") + 1):
        try:
            with transaction.atomic():
                SmsDailyCount.objects.create(key=cap.key, day=day, refused=1)
        except IntegrityError:
            counters.update(refused=F("refused") + 1)
    if cap.kind == "budget" and counters.filter(alerted=False).update(alerted=True):
        enqueue(send_budget_alert, organisation_id, day.isoformat(), cap.limit)


def refused(cap: Cap) -> SmsRefused:
    return SmsRefused(REFUSALS[cap.kind], code=cap.kind)


def forget_old_counts(today: date) -> int:
    """Counters of the day before yesterday and older: no longer needed."""
    from datetime import timedelta

    return SmsDailyCount.objects.filter(day__lt=today - timedelta(days=1)).delete()[0]
