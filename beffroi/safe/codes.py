"""One-time codes of the safe: drawn with ``secrets``, kept only as keyed hashes.

SMS codes are 6 digits (few attempts, minutes of life). Recovery codes are
printed and kept for years: 16 characters from an alphabet without the
look-alikes 0/O, 1/I/L (79 bits), shown as « ABCD-EFGH-JKMN-PQRS »; typed
in any case, with or without dashes and spaces.
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db.models import F
from django.utils import timezone

RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECOVERY_LENGTH = 16


def keyed_hash(purpose: str, safe_id: int, code: str) -> str:
    """Keyed by the site's secret and bound to the safe and the purpose: a
    leaked table gives nothing to try offline, nor a code usable elsewhere."""
    return hmac.new(settings.SECRET_KEY.encode(), f"{purpose}:{safe_id}:{code}".encode(), hashlib.sha256).hexdigest()


def numeric_code(digits: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))


def normalise_recovery(value: str) -> str:
    """What was typed, as it was printed (« abcd efgh… » → « ABCD-EFGH-… »); "" if it cannot be one."""
    raw = "".join(c for c in (value or "").upper() if c not in " -\u00a0")
    if len(raw) != RECOVERY_LENGTH or any(c not in RECOVERY_ALPHABET for c in raw):
        return ""
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))


def matches(stored_hash: str, purpose: str, safe_id: int, code: str) -> bool:
    return bool(code) and hmac.compare_digest(stored_hash, keyed_hash(purpose, safe_id, code))


ATTEMPTS = 5  # wrong codes before a code of the SMS is worth nothing


def spend(*, safe, purpose: str, code: str, **where) -> bool:
    """Inside the caller's transaction: the safe's latest code of ``purpose``
    still alive (unused, unexpired, attempts left), locked; True and marked used
    when ``code`` is it. A wrong code counts an attempt: the caller raises only
    after its transaction has committed that count."""
    from beffroi.safe.models import ResetCode

    current = (ResetCode.objects.select_for_update()
               .filter(safe=safe, purpose=purpose, used_at__isnull=True, expires_at__gt=timezone.now(),
                       attempts__lt=ATTEMPTS, **where)
               .order_by("-created_at").first())
    if current is None:
        return False
    if matches(current.code_hash, purpose, safe.pk, (code or "").strip()):
        ResetCode.objects.filter(pk=current.pk).update(used_at=timezone.now())
        return True
    ResetCode.objects.filter(pk=current.pk).update(attempts=F("attempts") + 1)
    return False
