"""A new password without anyone's help: a one-time SMS code, or a recovery code.

The SMS code comes from ``secrets`` (6 digits), lives 10 minutes, allows 5
attempts, is stored as a keyed hash, and a new one replaces the former. It
goes only to a verified mobile. The answer never says whether the account
exists or has a mobile number. Recovery codes: services/recovery.py.

``apply_new_password`` is the one place where a forgotten password is
replaced, by these paths and by a professional's (services/assisted.py).
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from beffroi.safe import codes
from beffroi.safe.events import record_event
from beffroi.safe.keys import safe_key
from beffroi.safe.models import ResetCode, Safe

MINUTES = 10
WRONG = "Code incorrect ou expiré : demandez-en un nouveau si besoin."
RESET = ResetCode.Purpose.RESET


def _safe_of(username: str) -> Safe | None:
    user = get_user_model().objects.filter(username__iexact=(username or "").strip()[:150], is_active=True).first()
    return getattr(user, "safe", None) if user is not None and hasattr(user, "safe") else None


def apply_new_password(*, safe: Safe, password: str, actor, how: str, organisation=None, tell: str = "reset",
                       sms: bool = True) -> None:
    """Inside the caller's transaction, ``password`` already validated: the
    owner's password is replaced (their other sessions end: Django's session
    hash), a password waiting for its time is void, the journal says how, and
    the owner is told (services/alerts.py)."""
    from beffroi.core.signin_limits import forget_account_failures
    from beffroi.safe.services.alerts import tell_owner
    from beffroi.safe.services.assisted import supersede_waiting

    user = safe.owner
    user.set_password(password)
    user.save(update_fields=["password"])
    # The owner proved who they are: failures others made on the account no longer slow them.
    forget_account_failures(user=user)
    supersede_waiting(safe, actor=actor)
    record_event(safe=safe, key=safe_key(safe), actor=actor, organisation=organisation,
                 action="safe.password_reset", label=how)
    tell_owner(safe=safe, kind=tell, organisation=organisation, sms=sms)


@transaction.atomic
def reset_code_send(*, username: str) -> None:
    from beffroi.notify.sms.caps import SmsRefused
    from beffroi.notify.sms.services import sms_enqueue
    from beffroi.safe.services.phone import verified_phone

    safe = _safe_of(username)
    phone = verified_phone(safe) if safe is not None else ""
    if not phone:
        return  # no account, no mobile, or one never verified: the same answer
    code = codes.numeric_code()
    try:
        sms_enqueue(to=phone, purpose="code", verified=True, account=f"safe:{safe.pk}", organisation=safe.opened_with,
                    text=f"Code pour choisir un nouveau mot de passe de votre coffre-fort : {code} "
                         f"(valable {MINUTES} min). Ne le donnez à personne.")
    except SmsRefused:
        return  # a cap of the day: the same answer, nothing sent
    ResetCode.objects.filter(safe=safe, purpose=RESET, used_at__isnull=True).update(used_at=timezone.now())
    ResetCode.objects.create(safe=safe, purpose=RESET, code_hash=codes.keyed_hash(RESET, safe.pk, code),
                             expires_at=timezone.now() + timedelta(minutes=MINUTES))


def reset_with_code(*, username: str, code: str, password: str) -> None:
    """Set the new password if the code is right; a wrong code is counted in its own transaction."""
    safe = _safe_of(username)
    with transaction.atomic():
        if safe is not None and codes.spend(safe=safe, purpose=RESET, code=code):
            # Only now (the same answer otherwise, whether the account exists or not); a refused
            # password undoes the block, the code with it.
            validate_password(password, safe.owner)
            # The code went to their mobile a moment ago: the push and the notice tell the rest.
            apply_new_password(safe=safe, password=password, actor=safe.owner, how="par code SMS", sms=False)
            return
    raise ValidationError(WRONG)


@transaction.atomic
def reset_with_recovery_code(*, username: str, code: str, password: str) -> None:
    """The owner alone, with one of their printed recovery codes (spent)."""
    from beffroi.safe.services.recovery import WRONG as WRONG_RECOVERY
    from beffroi.safe.services.recovery import use_code

    safe = _safe_of(username)
    if safe is None or not use_code(safe, code):
        raise ValidationError(WRONG_RECOVERY)
    validate_password(password, safe.owner)  # refused: the code is not spent (rolled back)
    apply_new_password(safe=safe, password=password, actor=safe.owner, how="avec un code de secours")
