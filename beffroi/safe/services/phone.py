"""The safe's mobile number, and its verification.

A number entered at opening or changed later is unverified until the owner
types the code sent to it. Until then it receives nothing but verification
codes (the SMS outbox refuses anything else: ``notify/sms/caps.py``), never a
reset code, a reminder nor a link's code; and the safe keeps the small quota
(``quota.py``) unless an organisation accompanies it.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from beffroi.safe import codes
from beffroi.safe.events import record_event
from beffroi.safe.keys import safe_key, seal_text, unseal_text
from beffroi.safe.models import ResetCode, Safe

MINUTES = 15
WRONG = "Code incorrect ou expiré : demandez-en un nouveau si besoin."
VERIFY = ResetCode.Purpose.VERIFY


def safe_phone(safe: Safe) -> str:
    """The number, verified or not (for its owner's page)."""
    if not safe.has_phone:
        return ""
    return unseal_text(safe_key(safe), safe, "phone", safe.phone_sealed)


def verified_phone(safe: Safe) -> str:
    """The number if its owner verified it, else ""."""
    return safe_phone(safe) if safe.phone_verified_at is not None else ""


def send_verification(safe: Safe, number: str) -> str | None:
    """Queue a new code to ``number`` (the former ones stop working): None, or
    why it could not go (a cap of the day). Call inside the caller's transaction."""
    from beffroi.notify.sms.caps import SmsRefused
    from beffroi.notify.sms.services import sms_enqueue

    code = codes.numeric_code()
    try:
        sms_enqueue(to=number, purpose="verify", verified=False, account=f"safe:{safe.pk}",
                    organisation=safe.opened_with,
                    text=f"Code de vérification de votre coffre-fort : {code} (valable {MINUTES} min).")
    except SmsRefused as refused:
        return refused.messages[0]
    _void_codes(safe)
    ResetCode.objects.create(safe=safe, purpose=VERIFY, code_hash=codes.keyed_hash(VERIFY, safe.pk, code),
                             expires_at=timezone.now() + timedelta(minutes=MINUTES))
    return None


def _void_codes(safe: Safe) -> None:
    ResetCode.objects.filter(safe=safe, purpose=VERIFY, used_at__isnull=True).update(used_at=timezone.now())


@transaction.atomic
def safe_set_phone(*, safe: Safe, actor, phone: str) -> str | None:
    """Set, change or remove the number. A new number is unverified and gets a
    code: returns None, or why the code could not go."""
    from beffroi.notify.sms.phone import normalise_mobile
    from beffroi.safe.services.alerts import tell_owner

    key = safe_key(safe)
    number = normalise_mobile(phone) if phone else ""
    if number and number == safe_phone(safe):
        return None  # unchanged: still verified, or not
    # Whoever changes it, the number that was verified hears of it first: a
    # new number would otherwise receive the reset codes unbeknown to its owner.
    tell_owner(safe=safe, kind="phone", phone=verified_phone(safe))
    if number:
        safe.phone_sealed, safe.has_phone = seal_text(key, safe, "phone", number), True
    else:
        safe.phone_sealed, safe.has_phone = None, False
    safe.phone_verified_at = None
    safe.save(update_fields=["phone_sealed", "has_phone", "phone_verified_at"])
    _void_codes(safe)
    record_event(safe=safe, key=key, actor=actor, action="safe.phone")
    return send_verification(safe, number) if number else None


@transaction.atomic
def phone_code_send(*, safe: Safe) -> str | None:
    """Another code to the unverified number: None, or why it could not go."""
    safe = Safe.objects.select_for_update().get(pk=safe.pk)
    if not safe.has_phone or safe.phone_verified_at is not None:
        raise ValidationError("Aucun numéro n’attend de vérification.")
    return send_verification(safe, safe_phone(safe))


def phone_verify(*, safe: Safe, actor, code: str) -> None:
    """The owner typed the code: the number is verified. A wrong code is counted in its own transaction."""
    with transaction.atomic():
        safe = Safe.objects.select_for_update().get(pk=safe.pk)
        if safe.has_phone and codes.spend(safe=safe, purpose=VERIFY, code=code):
            safe.phone_verified_at = timezone.now()
            safe.save(update_fields=["phone_verified_at"])
            record_event(safe=safe, key=safe_key(safe), actor=actor, action="safe.phone_verified")
            return
    raise ValidationError(WRONG)
