"""Failed sign-ins: brute force bounded, and no lock handed to anonymous visitors.

Each password attempt is first counted as a failure (so that parallel
attempts cannot all slip through before any failure is recorded) and given
back if the password was right. It is refused, without checking the
password, when one of the counters that apply says so:

- From a browser where the account signed in completely before (a signed
  "known device" cookie, see ``remember_device``): only the failures of this
  account on this browser count, with progressive delays. Nobody elsewhere
  can slow the owner down there.
- From anywhere else:
  - failures of the account from this client (IPv4 address or IPv6 /64):
    ``SIGNIN_FREE_FAILURES`` free, then each failure doubles the wait of the
    pair, from ``SIGNIN_DELAYS[0]`` up to ``SIGNIN_DELAYS[1]`` seconds;
  - failures from this client across all accounts (password spraying):
    ``SIGNIN_FAILURES_PER_CLIENT`` = (limit, window in seconds);
  - failures of the account from unknown browsers, wherever they come from:
    ``SIGNIN_FAILURES_PER_ACCOUNT`` (limit, window). An attacker with many
    addresses exhausts it only for unknown browsers: the owner still signs
    in from a known one, or after a password reset by e-mail.

Unknown logins are counted exactly like accounts (under the login typed), so
that the answers do not tell whether an account exists. When an account's
failures from unknown browsers reach ``SIGNIN_NOTICE_AFTER``, its owner gets
an e-mail (at most once per window): how many, since about when, no address.

Counters are rows of ``core.Counter`` under keyed hashes (``counters.digest``);
the clock is ``counters.clock``.
"""

import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.db.models import F

from beffroi.core import counters
from beffroi.core.models import Counter

DEVICE_SALT = "beffroi.core.signin_limits.device"
DEVICE_DAYS = 365
DEVICE_ACCOUNTS = 10  # accounts remembered by one browser (a shared computer)
PAIR_WINDOW = timedelta(days=1)  # a pair's failures are forgotten a day after its first one


class TooManyFailures(Exception):
    def __init__(self, wait: timedelta):
        super().__init__(wait)
        self.wait = wait

    @property
    def message(self) -> str:
        return f"Trop d’échecs de connexion : réessayez {wait_text(self.wait)}."


def wait_text(wait: timedelta) -> str:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    if minutes == 1:
        return "dans une minute"
    if minutes < 90:
        return f"dans {minutes} minutes"
    return f"dans {round(minutes / 60)} heures environ"


def delay_after(failures: int) -> timedelta:
    """The wait that follows a pair's ``failures``-th failure."""
    free = settings.SIGNIN_FREE_FAILURES
    if failures <= free:
        return timedelta(0)
    first, longest = settings.SIGNIN_DELAYS
    # Capped before the power, so that the number stays small however many failures.
    return timedelta(seconds=min(longest, first * 2 ** min(failures - free - 1, 32)))


# --- Who is trying ----------------------------------------------------------


def account_for(credentials: dict):
    """The account these credentials name, if any (as allauth's backend looks it up)."""
    from allauth.account.utils import filter_users_by_email

    user = None
    if credentials.get("email"):
        user = next(iter(filter_users_by_email(credentials["email"])), None)
    if user is None and credentials.get("username"):
        user = get_user_model().objects.filter(username__iexact=credentials["username"]).first()
    return user


def _account_identity(credentials: dict, user) -> str:
    if user is not None:
        return f"user:{user.pk}"
    return "login:" + (credentials.get("email") or credentials.get("username") or "").strip().lower()


def _read_device(request) -> dict | None:
    value = request.COOKIES.get(settings.SIGNIN_DEVICE_COOKIE)
    if not value:
        return None
    try:
        device = signing.loads(value, salt=DEVICE_SALT, max_age=timedelta(days=DEVICE_DAYS))
    except signing.BadSignature:
        return None
    if not isinstance(device, dict) or not isinstance(device.get("d"), str) or not isinstance(device.get("u"), list):
        return None
    return device


def remember_device(request, response, user) -> None:
    """After a complete sign-in (password and second factor): mark this browser
    as known for the account. The cookie is signed; the server keeps nothing."""
    device = _read_device(request) or {"d": secrets.token_urlsafe(16), "u": []}
    accounts = [user.pk] + [pk for pk in device["u"] if pk != user.pk]
    value = signing.dumps({"d": device["d"], "u": accounts[:DEVICE_ACCOUNTS]}, salt=DEVICE_SALT)
    response.set_cookie(
        settings.SIGNIN_DEVICE_COOKIE, value, max_age=DEVICE_DAYS * 86400,
        secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax",
    )


# --- Counting ---------------------------------------------------------------


@dataclass
class _Rule:
    key: str
    window: timedelta
    limit: int | None = None  # a count limit, or (None) progressive delays


@dataclass
class Attempt:
    """One password attempt, counted as a failure until ``succeeded``."""

    user: object
    rules: list[_Rule]
    account_key: str | None = None  # the account's counter for unknown browsers
    now: datetime = field(default_factory=lambda: counters.clock())

    def succeeded(self) -> None:
        """The password was right: this attempt is no failure, and the
        account's delays for this client or browser start again from zero."""
        with transaction.atomic():
            for rule in self.rules:
                if rule.limit is None:
                    Counter.objects.filter(key=rule.key).delete()
                else:
                    Counter.objects.filter(key=rule.key, count__gt=0).update(count=F("count") - 1)

    def failed(self) -> None:
        """Tell the owner once per window when the failures pass the threshold."""
        if self.user is None or self.account_key is None or not getattr(self.user, "email", ""):
            return
        row = Counter.objects.filter(key=self.account_key).first()
        if row is None or row.count < settings.SIGNIN_NOTICE_AFTER:
            return
        limit_window = settings.SIGNIN_FAILURES_PER_ACCOUNT[1]
        since = row.expires_at - timedelta(seconds=limit_window)
        from beffroi.core.signin_notice import send_signin_notice
        from beffroi.core.tasks import enqueue

        with transaction.atomic():
            notice_key = counters.digest("signin:notice", f"user:{self.user.pk}")
            if counters.hit(notice_key, window_seconds=limit_window, now=self.now) == 1:
                enqueue(send_signin_notice, self.user.pk, since.isoformat(), row.count)


def _rules(request, credentials: dict, user) -> tuple[list[_Rule], str | None]:
    identity = _account_identity(credentials, user)
    device = _read_device(request)
    if user is not None and device is not None and user.pk in device["u"]:
        return [_Rule(counters.digest("signin:device", f"{identity}\n{device['d']}"), PAIR_WINDOW)], None
    limit, window = settings.SIGNIN_FAILURES_PER_ACCOUNT
    account_key = counters.digest("signin:account", identity)
    client_limit, client_window = settings.SIGNIN_FAILURES_PER_CLIENT
    rules = [
        _Rule(counters.client_digest(request, "signin:client"), timedelta(seconds=client_window), client_limit),
        _Rule(counters.digest("signin:pair", f"{identity}\n{counters.client_network(request)}"), PAIR_WINDOW),
        _Rule(account_key, timedelta(seconds=window), limit),
    ]
    return rules, account_key


def begin(request, credentials: dict, now: datetime | None = None) -> Attempt:
    """Count this attempt as a failure, or raise TooManyFailures (nothing counted)."""
    now = now or counters.clock()
    user = account_for(credentials)
    rules, account_key = _rules(request, credentials, user)
    by_key = {rule.key: rule for rule in rules}
    with transaction.atomic():
        # Rows created in key order, then locked in key order: two attempts
        # on the same counters never wait for each other crosswise.
        Counter.objects.bulk_create(
            [Counter(key=key, count=0, expires_at=now + by_key[key].window) for key in sorted(by_key)],
            ignore_conflicts=True,
        )
        rows = list(Counter.objects.select_for_update().filter(key__in=by_key).order_by("key"))
        waits = []
        for row in rows:
            rule = by_key[row.key]
            if row.expires_at <= now:  # the window has ended: a new one starts
                row.count, row.not_before, row.expires_at = 0, None, now + rule.window
            if rule.limit is not None and row.count >= rule.limit:
                waits.append(row.expires_at - now)
            elif rule.limit is None and row.not_before is not None and row.not_before > now:
                waits.append(row.not_before - now)
        if waits:
            raise TooManyFailures(max(waits))
        for row in rows:
            row.count += 1
            if by_key[row.key].limit is None:
                row.not_before = now + delay_after(row.count)
                row.expires_at = max(row.expires_at, row.not_before)
            row.save(update_fields=["count", "not_before", "expires_at"])
    return Attempt(user=user, rules=rules, account_key=account_key, now=now)


@transaction.atomic
def forget_account_failures(*, user) -> None:
    """The owner proved who they are another way (a password reset by e-mail):
    unknown browsers may try again at once."""
    Counter.objects.filter(key=counters.digest("signin:account", f"user:{user.pk}")).delete()
