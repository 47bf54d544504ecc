"""Sending an SMS from anywhere in the platform: ``sms_enqueue``.

The message is written to the outbox in the caller's transaction, together
with the job that will send it: the worker sees both when the transaction
commits, a rollback removes both, and nothing leaves before the commit.
Every message first passes the caps of the day (``caps.py``).
"""

import re
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from beffroi.core.models import Organisation
from beffroi.core.tasks import enqueue
from beffroi.notify.sms import caps
from beffroi.notify.sms.models import MAX_TEXT, PURPOSE_PATTERN, TAG_PATTERN, SmsMessage
from beffroi.notify.sms.phone import normalise_mobile


def new_tag() -> str:
    return f"sms-{secrets.token_hex(8)}"  # 20 characters, OVH's maximum


def clean_text(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError("Le texte du SMS est vide.", code="empty")
    if len(text) > MAX_TEXT:
        raise ValidationError(
            f"Le texte du SMS dépasse {MAX_TEXT} caractères ({len(text)}).", code="too_long"
        )
    return text


def sms_enqueue(
    *,
    to: str,
    text: str,
    organisation: Organisation | None = None,
    purpose: str,
    verified: bool,
    account: str = "",
    tag: str | None = None,
    dispatch: bool = True,
) -> SmsMessage:
    """Queue one SMS; sent by the worker once the current transaction commits.

    ``verified``: the owner of ``to`` proved they hold it (typed a code sent
    to it). An unverified number receives only verification codes (purpose
    "verify"). ``account`` names who asks ("safe:12"), for its daily cap.
    Beyond a cap of the day (``caps.py``) nothing is queued and ``SmsRefused``
    (a ValidationError, in French) is raised; what the caller's transaction
    wrote stays usable, so a caller may catch it and go on.

    ``tag`` is an idempotency key ("rem-<id>"…, at most 20 letters, digits,
    "-" or "_"): queuing again with the same tag and the same message returns
    the message already queued. Without it, a random tag is drawn.

    ``dispatch=False``: no sending job for this message; the caller queues
    many in one transaction and then calls ``tasks.ensure_dispatch_scheduled()``
    once, in that same transaction (one job for the lot, not one each).
    """
    from beffroi.notify.sms.tasks import dispatch_sms

    number = normalise_mobile(to)
    text = clean_text(text)
    if not re.fullmatch(PURPOSE_PATTERN, purpose or ""):
        raise ValidationError("Motif d’envoi invalide.", code="purpose")
    tag = tag or new_tag()
    if not re.fullmatch(TAG_PATTERN, tag):
        raise ValidationError(
            "Étiquette invalide : 20 caractères au plus, lettres, chiffres, « - » ou « _ ».", code="tag"
        )
    if not verified and purpose not in caps.UNVERIFIED_PURPOSES:
        raise caps.SmsRefused(caps.UNVERIFIED, code="unverified")
    organisation_id = getattr(organisation, "pk", None)
    refusal = None
    with transaction.atomic():
        if SmsMessage.objects.filter(tag=tag).exists():
            return _same_message(tag, to=number, text=text, organisation=organisation)
        day = timezone.localdate()
        spent = None
        try:
            # A savepoint: a spent cap gives back the ones taken before it.
            with transaction.atomic():
                spent = caps.take(caps.caps_for(number=number, purpose=purpose, account=account,
                                                organisation_id=organisation_id), day)
                if spent is not None:
                    raise caps.refused(spent)
                message = SmsMessage.objects.create(
                    organisation=organisation,
                    to=number,
                    text=text,
                    tag=tag,
                    purpose=purpose,
                    next_attempt_at=timezone.now(),
                )
        except IntegrityError:  # the same tag, queued meanwhile
            return _same_message(tag, to=number, text=text, organisation=organisation)
        except caps.SmsRefused as exc:
            # Counted (and the budget's e-mail queued) in this block, which ends normally: raising
            # through it would undo them when no caller's transaction is open.
            caps.note_refusal(spent, day, organisation_id)
            refusal = exc
        else:
            if dispatch:
                enqueue(dispatch_sms)
    if refusal is not None:
        raise refusal
    return message


def _same_message(tag: str, *, to: str, text: str, organisation: Organisation | None) -> SmsMessage:
    existing = SmsMessage.objects.get(tag=tag)
    # The text of a one-time code is erased once sent (dispatch.SECRET_PURPOSES).
    if existing.to != to or existing.text not in (text, "") or existing.organisation_id != getattr(organisation, "pk", None):
        raise ValidationError(f"Un autre SMS porte déjà l’étiquette « {tag} ».", code="tag_taken")
    return existing
