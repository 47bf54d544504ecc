"""A new password by a one-time SMS code, without anyone's help.

The code comes from ``secrets`` (6 digits), lives 10 minutes, allows 5
attempts, is stored as a keyed hash, and a new one replaces the former. The
answer never says whether the account exists or has a mobile number.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from beffroi.safe.events import record_event
from beffroi.safe.keys import safe_key
from beffroi.safe.models import ResetCode, Safe

MINUTES = 10
ATTEMPTS = 5
WRONG = "Code incorrect ou expiré : demandez-en un nouveau si besoin."


def _hash(safe_id: int, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"reset:{safe_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _safe_of(username: str) -> Safe | None:
    user = get_user_model().objects.filter(username__iexact=(username or "").strip()[:150], is_active=True).first()
    return getattr(user, "safe", None) if user is not None and hasattr(user, "safe") else None


@transaction.atomic
def reset_code_send(*, username: str) -> None:
    from beffroi.notify.sms.services import sms_enqueue
    from beffroi.safe.services.accounts import safe_phone

    safe = _safe_of(username)
    if safe is None or not safe.has_phone:
        return
    code = "".join(secrets.choice("0123456789") for _ in range(6))
    ResetCode.objects.filter(safe=safe, used_at__isnull=True).update(used_at=timezone.now())
    ResetCode.objects.create(safe=safe, code_hash=_hash(safe.pk, code), expires_at=timezone.now() + timedelta(minutes=MINUTES))
    sms_enqueue(to=safe_phone(safe), purpose="code",
                text=f"Code pour choisir un nouveau mot de passe de votre coffre-fort : {code} (valable {MINUTES} min). "
                     "Ne le donnez à personne.")


def reset_with_code(*, username: str, code: str, password: str) -> None:
    """Set the new password if the code is right; a wrong code is counted in its own transaction."""
    safe = _safe_of(username)
    with transaction.atomic():
        current = None
        if safe is not None:
            current = (ResetCode.objects.select_for_update()
                       .filter(safe=safe, used_at__isnull=True, expires_at__gt=timezone.now(), attempts__lt=ATTEMPTS)
                       .order_by("-created_at").first())
        if current is not None and hmac.compare_digest(current.code_hash, _hash(safe.pk, (code or "").strip())):
            user = safe.owner
            validate_password(password, user)
            user.set_password(password)
            user.save(update_fields=["password"])
            current.used_at = timezone.now()
            current.save(update_fields=["used_at"])
            record_event(safe=safe, key=safe_key(safe), actor=user, action="safe.password_reset", label="par code SMS")
            return
        if current is not None:
            ResetCode.objects.filter(pk=current.pk).update(attempts=F("attempts") + 1)
    raise ValidationError(WRONG)
