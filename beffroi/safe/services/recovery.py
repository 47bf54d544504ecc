"""Recovery codes: the beneficiary's proof, on paper, that they are who opens the safe.

Made when the owner opens their safe themselves, or when they ask for new
ones (the former stop working); shown once, to print; only their keyed hash
is kept; each works once. A safe opened by a professional gets none at
opening: the professional's screen would show them. Its owner makes them
from « Mon compte ».

One opens a new password: by the owner alone (« Mot de passe oublié ») or
with a professional of a linked organisation (services/assisted.py).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from beffroi.safe import codes
from beffroi.safe.events import record_event
from beffroi.safe.keys import safe_key
from beffroi.safe.models import RecoveryCode, Safe

COUNT = 5
PURPOSE = "recovery"
WRONG = "Code de secours incorrect ou déjà utilisé."


def make_codes(safe: Safe) -> list[str]:
    """New codes replace the unused ones; call inside the caller's transaction."""
    RecoveryCode.objects.filter(safe=safe, used_at__isnull=True).delete()
    fresh = [codes.recovery_code() for _ in range(COUNT)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(safe=safe, code_hash=codes.keyed_hash(PURPOSE, safe.pk, code)) for code in fresh
    )
    return fresh


@transaction.atomic
def recovery_codes_renew(*, safe: Safe, actor, password: str) -> list[str]:
    """The owner, typing their password again, gets new codes to print."""
    if not actor.check_password(password or ""):
        raise ValidationError({"password": "Mot de passe incorrect."})
    from beffroi.safe.services.alerts import tell_owner

    fresh = make_codes(safe)
    record_event(safe=safe, key=safe_key(safe), actor=actor, action="safe.recovery_codes")
    tell_owner(safe=safe, kind="recovery")  # the printed ones no longer work: the owner must know
    return fresh


def codes_left(safe: Safe) -> int:
    return RecoveryCode.objects.filter(safe=safe, used_at__isnull=True).count()


def use_code(safe: Safe, typed: str) -> bool:
    """Spend the code if it is one of the safe's unused ones (inside the caller's transaction)."""
    code = codes.normalise_recovery(typed)
    if not code:
        return False
    return bool(RecoveryCode.objects.filter(safe=safe, code_hash=codes.keyed_hash(PURPOSE, safe.pk, code),
                                            used_at__isnull=True).update(used_at=timezone.now()))
