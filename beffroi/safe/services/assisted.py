"""A new password with a professional of a linked organisation (in person).

A professional alone must never end up able to read what was not shared
with their organisation. So the password they help to set opens the whole
safe only with proof that comes from the beneficiary:

- a one-time code sent to the safe's verified mobile, which the beneficiary
  reads out (``assisted_code_send``, then ``assisted_reset``);
- or one of the safe's printed recovery codes (``assisted_reset``).

Without either (``assisted_reset_wait``), the new password waits: for
``SAFE_RESET_WAIT_HOURS`` it opens only what the safe already shares with
that organisation (a session of its own, ``auth.py``, kept there by
``middleware.py``), while the former password still opens everything. The
beneficiary is told at once by every channel they have; signing in with
the former password shows the request, and one click cancels it. After
the wait, the new password replaces the former one (at its next use:
``complete_if_due``), unless the owner changed theirs meanwhile.

The second factor is never removed: a beneficiary who enabled one still
needs it, with any password. Every step is written in the safe's journal
and in the organisation's (core journal).
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from beffroi.core import journal
from beffroi.core.lifecycle import Lifecycle
from beffroi.safe import codes
from beffroi.safe.events import record_event
from beffroi.safe.keys import safe_key
from beffroi.safe.models import Link, ResetCode, Safe, WaitingReset

CODE_MINUTES = 10
ASSISTED = ResetCode.Purpose.ASSISTED
NOT_LINKED = "Seul un professionnel d’une organisation liée à ce coffre peut le faire."
WRONG = "Code incorrect ou expiré."

W = WaitingReset.Status
WAITING_LIFECYCLE = Lifecycle(
    transitions={
        (W.WAITING, "cancel"): W.CANCELLED,  # by the owner, or the link broke
        (W.WAITING, "complete"): W.COMPLETED,  # the wait is over
        (W.WAITING, "supersede"): W.SUPERSEDED,  # another new password, or the owner changed theirs
    },
    action_labels={"cancel": "Annuler", "complete": "Appliquer", "supersede": "Remplacer"},
)


def _check_professional(actor, organisation, safe: Safe) -> Link:
    from beffroi.safe.access import viewer_for

    viewer = viewer_for(actor, safe, organisation)
    if viewer is None or viewer.is_owner:
        raise PermissionDenied(NOT_LINKED)
    return viewer.link


def password_digest(user) -> str:
    """A keyed digest of the user's password hash: tells whether it changed, says nothing of it."""
    return salted_hmac("beffroi.safe.waiting-reset", user.password, algorithm="sha256").hexdigest()


# --- With proof -------------------------------------------------------------------


@transaction.atomic
def assisted_code_send(*, actor, organisation, safe: Safe) -> str | None:
    """Send a code to the verified mobile for the professional to type; None, or why it could not go."""
    from beffroi.notify.sms.caps import SmsRefused
    from beffroi.notify.sms.services import sms_enqueue
    from beffroi.safe.services.alerts import tell_owner
    from beffroi.safe.services.phone import verified_phone

    _check_professional(actor, organisation, safe)
    phone = verified_phone(safe)
    if not phone:
        raise ValidationError("Ce coffre n’a pas de mobile vérifié : utilisez un code de secours du bénéficiaire, "
                              "ou un mot de passe provisoire.")
    code = codes.numeric_code()
    try:
        sms_enqueue(to=phone, purpose="code", verified=True, account=f"safe:{safe.pk}", organisation=organisation,
                    # No organisation's name: a lock screen shows the text to whoever holds the phone.
                    text=f"Code pour changer le mot de passe de votre coffre-fort : {code} "
                         f"(valable {CODE_MINUTES} min). Donnez-le seulement à la personne qui est avec vous.")
    except SmsRefused as refused:
        return refused.messages[0]
    ResetCode.objects.filter(safe=safe, purpose=ASSISTED, used_at__isnull=True).update(used_at=timezone.now())
    ResetCode.objects.create(safe=safe, purpose=ASSISTED, organisation=organisation,
                             code_hash=codes.keyed_hash(ASSISTED, safe.pk, code),
                             expires_at=timezone.now() + timedelta(minutes=CODE_MINUTES))
    record_event(safe=safe, key=safe_key(safe), actor=actor, organisation=organisation, action="safe.reset_code_sent",
                 label=organisation.name)
    journal.record(actor=actor, organisation=organisation, action="safe.reset_code_sent", target=safe)
    tell_owner(safe=safe, kind="code", organisation=organisation, sms=False)  # the code's SMS says it already
    return None


def assisted_reset(*, actor, organisation, safe: Safe, password: str, sms_code: str = "",
                   recovery_code: str = "") -> None:
    """The new password, with the code sent to the mobile or a recovery code.
    A wrong code is counted, journaled and told in a transaction of its own."""
    from beffroi.safe.services.alerts import tell_owner
    from beffroi.safe.services.recovery import use_code
    from beffroi.safe.services.reset import apply_new_password

    _check_professional(actor, organisation, safe)
    validate_password(password, safe.owner)  # before any code is spent
    proof = "sms" if sms_code.strip() else "recovery"
    with transaction.atomic():
        if proof == "sms":
            # A code asked by this organisation only: another's is not its to use.
            good = codes.spend(safe=safe, purpose=ASSISTED, code=sms_code, organisation=organisation)
        else:
            good = use_code(safe, recovery_code)
        how = "code reçu par SMS" if proof == "sms" else "code de secours"
        if good:
            apply_new_password(safe=safe, password=password, actor=actor, organisation=organisation,
                               how=f"avec {organisation.name}, {how}")
            journal.record(actor=actor, organisation=organisation, action="safe.password_reset", target=safe,
                           data={"proof": proof})
            return
        record_event(safe=safe, key=safe_key(safe), actor=actor, organisation=organisation,
                     action="safe.reset_refused", label=f"{organisation.name}, {how}")
        journal.record(actor=actor, organisation=organisation, action="safe.reset_refused", target=safe,
                       data={"proof": proof})
        tell_owner(safe=safe, kind="refused", organisation=organisation)
    raise ValidationError(WRONG if proof == "sms" else "Code de secours incorrect ou déjà utilisé.")


# --- Without proof: the password waits ------------------------------------------------


@transaction.atomic
def assisted_reset_wait(*, actor, organisation, safe: Safe, password: str) -> WaitingReset:
    from beffroi.safe.services.alerts import tell_owner

    link = _check_professional(actor, organisation, safe)
    owner = safe.owner
    validate_password(password, owner)
    Safe.objects.select_for_update().filter(pk=safe.pk).exists()  # one request at a time per safe
    if WaitingReset.objects.filter(safe=safe, status=W.WAITING).exists():
        raise ValidationError("Un mot de passe provisoire attend déjà pour ce coffre : le bénéficiaire peut l’annuler, "
                              "ou il s’appliquera à la fin de son attente.")
    waiting = WaitingReset.objects.create(
        safe=safe, link=link, organisation=organisation, requested_by=actor, password=make_password(password),
        base_digest=password_digest(owner),
        opens_all_at=timezone.now() + timedelta(hours=settings.SAFE_RESET_WAIT_HOURS),
    )
    record_event(safe=safe, key=safe_key(safe), actor=actor, organisation=organisation, action="safe.reset_waiting",
                 label=organisation.name)
    journal.record(actor=actor, organisation=organisation, action="safe.password_wait", target=safe,
                   data={"opens_all_at": waiting.opens_all_at.isoformat()})
    tell_owner(safe=safe, kind="waiting", organisation=organisation)
    return waiting


def waiting_reset(safe: Safe) -> WaitingReset | None:
    return WaitingReset.objects.filter(safe=safe, status=W.WAITING).select_related("organisation", "link").first()


def _end(waiting: WaitingReset, action: str, *, actor, event: str, journal_action: str) -> None:
    waiting.status = WAITING_LIFECYCLE.target(waiting.status, action, status_label=waiting.get_status_display())
    waiting.ended_at, waiting.ended_by = timezone.now(), actor
    waiting.save(update_fields=["status", "ended_at", "ended_by"])
    record_event(safe=waiting.safe, key=safe_key(waiting.safe), actor=actor, action=event,
                 label=waiting.organisation.name)
    journal.record(actor=actor, organisation=waiting.organisation, action=journal_action, target=waiting.safe)


@transaction.atomic
def waiting_reset_cancel(*, safe: Safe, actor, waiting_id: int) -> None:
    """The owner (signed in with their own password) refuses it."""
    waiting = WaitingReset.objects.select_for_update().filter(pk=waiting_id, safe=safe).first()
    if waiting is None or waiting.status != W.WAITING:
        raise ValidationError("Ce mot de passe provisoire n’attend plus.")
    _end(waiting, "cancel", actor=actor, event="safe.reset_cancelled", journal_action="safe.password_wait_cancel")


def cancel_for_link(link: Link, *, actor) -> None:
    """The link broke: a password waiting through it is void (inside the caller's transaction)."""
    for waiting in WaitingReset.objects.select_for_update().filter(link=link, status=W.WAITING):
        _end(waiting, "cancel", actor=actor, event="safe.reset_cancelled",
             journal_action="safe.password_wait_link_broken")


def supersede_waiting(safe: Safe, *, actor) -> None:
    """Another new password was set: the waiting one is void (inside the caller's transaction)."""
    for waiting in WaitingReset.objects.select_for_update().filter(safe=safe, status=W.WAITING):
        _end(waiting, "supersede", actor=actor, event="safe.reset_superseded",
             journal_action="safe.password_wait_void")


def complete_if_due(waiting: WaitingReset) -> bool:
    """At the end of the wait, the waiting password becomes the owner's (if
    they did not change theirs meanwhile: then it is void). True once it is
    no longer waiting."""
    if waiting.opens_all_at > timezone.now():
        return False
    with transaction.atomic():
        # Only this row: the owner's row is locked by save() below, in the order every password change takes
        # (user, then waiting password: see apply_new_password), so that two of them never wait on each other.
        locked = WaitingReset.objects.select_for_update(
            **({"of": ("self",)} if connection.features.has_select_for_update_of else {}))
        waiting = locked.select_related("safe__owner", "organisation").get(pk=waiting.pk)
        if waiting.status != W.WAITING:
            return True
        owner = waiting.safe.owner
        if password_digest(owner) != waiting.base_digest:
            _end(waiting, "supersede", actor=None, event="safe.reset_superseded",
                 journal_action="safe.password_wait_void")
            return True
        owner.password = waiting.password
        owner.save(update_fields=["password"])
        _end(waiting, "complete", actor=None, event="safe.reset_completed", journal_action="safe.password_wait_done")
    return True


def still_valid(waiting: WaitingReset) -> bool:
    """Waiting, and the owner's password has not changed since it was asked."""
    if password_digest(waiting.safe.owner) == waiting.base_digest:
        return True
    with transaction.atomic():
        if WaitingReset.objects.select_for_update().filter(pk=waiting.pk, status=W.WAITING).exists():
            _end(waiting, "supersede", actor=None, event="safe.reset_superseded",
                 journal_action="safe.password_wait_void")
    return False
