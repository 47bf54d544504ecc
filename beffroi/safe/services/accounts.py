"""Beneficiaries' accounts: opening a safe, Web Push devices.

The mobile number: services/phone.py; passwords: services/reset.py,
services/recovery.py and services/assisted.py.
"""

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from beffroi.core import journal
from beffroi.safe.crypto import new_key
from beffroi.safe.events import record_event
from beffroi.safe.keys import seal_text, wrap_safe_key
from beffroi.safe.models import MB, Link, Safe

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
MOBILE = re.compile(r"^\+33[67]\d{8}$")


def normalise_mobile(value: str) -> str:
    """« 06 12 34 56 78 », « +33 6 12… » → « +33612345678 »; a French mobile number only."""
    digits = re.sub(r"[\s.\-()]", "", value or "")
    if digits.startswith("0") and len(digits) == 10:
        digits = "+33" + digits[1:]
    elif digits.startswith("0033"):
        digits = "+" + digits[2:]
    if not MOBILE.match(digits):
        raise ValidationError({"phone": "Numéro de mobile français attendu, par exemple 06 12 34 56 78."})
    return digits


def _check_username(username: str) -> str:
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise ValidationError({
            "username": "Identifiant de 3 à 40 caractères : lettres sans accent, chiffres, point, tiret ou souligné."
        })
    if get_user_model().objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "Cet identifiant est déjà pris : choisissez-en un autre."})
    return username


@transaction.atomic
def safe_open(*, username: str, password: str, first_name: str = "", phone: str = "", opened_by=None,
              organisation=None) -> Safe:
    """Open an account and its safe. A professional may do it with the beneficiary
    present: the safe is then linked to their organisation at once.

    A mobile number is unverified: a code goes to it (``safe.verification_refused``
    says why it could not, else None). A beneficiary who opens their safe alone
    gets recovery codes, in clear only on the returned object
    (``safe.new_recovery_codes``), to show once; opened by a professional, it gets
    none: they would be on the professional's screen (services/recovery.py).
    """
    from beffroi.safe.services.phone import send_verification
    from beffroi.safe.services.recovery import make_codes

    username = _check_username(username)
    user = get_user_model()(username=username, first_name=(first_name or "").strip()[:150])
    validate_password(password, user)
    phone = normalise_mobile(phone) if phone else ""
    user.set_password(password)
    user.save()
    safe = Safe(owner=user, opened_by=opened_by, opened_with=organisation, quota_bytes=settings.SAFE_QUOTA_MB * MB)
    safe.save()  # its id is part of what its key is bound to
    key = new_key()
    wrap_safe_key(safe, key)
    if phone:
        safe.phone_sealed, safe.has_phone = seal_text(key, safe, "phone", phone), True
    safe.save()
    record_event(safe=safe, key=key, actor=opened_by or user, organisation=organisation, action="safe.open")
    if organisation is not None:
        Link.objects.create(safe=safe, organisation=organisation, status=Link.Status.ACTIVE, proposed_by=opened_by)
        journal.record(actor=opened_by, organisation=organisation, action="safe.open", target=safe,
                       data={"in_person": True})
    safe.verification_refused = send_verification(safe, phone) if phone else None
    safe.new_recovery_codes = make_codes(safe) if opened_by is None else []
    return safe


def safe_push_subscribe(*, safe: Safe, endpoint: str, p256dh: str, auth: str) -> None:
    """This device receives the safe's reminders by Web Push too."""
    from beffroi.notify.push.validation import validate_endpoint, validate_keys
    from beffroi.safe.models import SafePushSubscription

    validate_endpoint(endpoint)
    validate_keys(p256dh, auth)
    SafePushSubscription.objects.update_or_create(endpoint=endpoint, defaults={"safe": safe, "p256dh": p256dh,
                                                                              "auth": auth})
