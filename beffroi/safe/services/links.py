"""Links between a safe and support organisations, and what each link shares."""

import hmac
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from beffroi.core import journal
from beffroi.realtime import channels
from beffroi.realtime.publish import publish
from beffroi.safe import codes
from beffroi.safe.access import Viewer, professional_organisations
from beffroi.safe.events import record_event
from beffroi.safe.keys import safe_key
from beffroi.safe.models import Link, Safe, Share
from beffroi.safe.services.assisted import cancel_for_link

CODE_DIGITS = 6
CODE_MINUTES = 15
CODE_ATTEMPTS = codes.ATTEMPTS
LIVE = (Link.Status.PROPOSED, Link.Status.REQUESTED, Link.Status.ACTIVE)


def _code_hash(link: Link, code: str) -> str:
    # Bound to the link (codes.keyed_hash: the site's secret, the purpose, the link's id).
    return codes.keyed_hash("link", link.pk, code)


def _new_link(safe: Safe, organisation, status, proposed_by) -> Link:
    try:
        with transaction.atomic():
            return Link.objects.create(safe=safe, organisation=organisation, status=status, proposed_by=proposed_by)
    except IntegrityError:
        raise ValidationError("Un lien avec cette organisation existe déjà ou attend d’être confirmé.") from None


@transaction.atomic
def link_propose(*, actor, organisation, safe: Safe, send_code: bool = True) -> Link:
    """A professional proposes a link; the beneficiary confirms it in the app,
    or gives the professional the code received by SMS."""
    if not professional_organisations(actor).filter(pk=organisation.pk).exists():
        raise PermissionError
    link = _new_link(safe, organisation, Link.Status.PROPOSED, actor)
    record_event(safe=safe, key=safe_key(safe), actor=actor, organisation=organisation, action="link.propose",
                 label=organisation.name)
    journal.record(actor=actor, organisation=organisation, action="safe_link.propose", target=link)
    link.sms_refused = _send_code(link) if send_code else None
    return link


def _send_code(link: Link) -> str | None:
    """The code goes only to a verified mobile; None, or why it could not go (a cap of the day)."""
    from beffroi.notify.sms.caps import SmsRefused
    from beffroi.notify.sms.services import sms_enqueue
    from beffroi.safe.services.phone import verified_phone

    phone = verified_phone(link.safe)
    if not phone:
        return None
    code = codes.numeric_code(CODE_DIGITS)
    try:
        sms_enqueue(
            to=phone, organisation=link.organisation, purpose="code", verified=True, account=f"safe:{link.safe_id}",
            text=f"{link.organisation.name} demande à accompagner votre coffre-fort. Pour accepter, donnez ce code : "
                 f"{code} (valable {CODE_MINUTES} min). Sinon, ignorez ce message.",
        )
    except SmsRefused as refused:
        return refused.messages[0]
    link.code_hash = _code_hash(link, code)
    link.code_expires_at = timezone.now() + timedelta(minutes=CODE_MINUTES)
    link.code_attempts = 0
    link.save(update_fields=["code_hash", "code_expires_at", "code_attempts"])
    return None


def link_confirm_with_code(*, actor, link: Link, code: str) -> Link:
    """The professional enters the code the beneficiary received (few attempts, short-lived).
    A wrong code is counted in its own transaction: the refusal must not undo the count."""
    with transaction.atomic():
        link = Link.objects.select_for_update().get(pk=link.pk)
        if link.status != Link.Status.PROPOSED or not link.code_hash:
            raise ValidationError("Aucun code n’attend de confirmation pour ce lien.")
        if link.code_expires_at < timezone.now() or link.code_attempts >= CODE_ATTEMPTS:
            raise ValidationError("Ce code n’est plus valable : proposez le lien à nouveau.")
        if hmac.compare_digest(link.code_hash, _code_hash(link, (code or "").strip())):
            return _activate(link, actor=actor, organisation=link.organisation)
        Link.objects.filter(pk=link.pk).update(code_attempts=F("code_attempts") + 1)
    raise ValidationError("Code incorrect.")


@transaction.atomic
def link_request(*, viewer: Viewer, organisation) -> Link:
    """The beneficiary asks an organisation to accompany them."""
    if not viewer.is_owner:
        raise PermissionError
    safe = viewer.user.safe
    link = _new_link(safe, organisation, Link.Status.REQUESTED, viewer.user)
    record_event(safe=safe, key=safe_key(safe), actor=viewer.user, action="link.request", label=organisation.name)
    return link


@transaction.atomic
def link_answer(*, actor, link: Link, accept: bool, organisation=None) -> Link:
    """The beneficiary answers a proposal, or the organisation answers a request."""
    link = Link.objects.select_for_update().get(pk=link.pk)
    by_owner = link.safe.owner_id == actor.pk
    if by_owner and link.status != Link.Status.PROPOSED:
        raise ValidationError("Ce lien n’attend pas votre réponse.")
    if not by_owner and (
        link.status != Link.Status.REQUESTED
        or organisation is None or organisation.pk != link.organisation_id
        or not professional_organisations(actor).filter(pk=link.organisation_id).exists()
    ):
        raise PermissionError
    if accept:
        return _activate(link, actor=actor, organisation=None if by_owner else organisation)
    link.status, link.ended_at, link.ended_by = Link.Status.DECLINED, timezone.now(), actor
    link.save(update_fields=["status", "ended_at", "ended_by"])
    record_event(safe=link.safe, key=safe_key(link.safe), actor=actor, organisation=None if by_owner else organisation,
                 action="link.decline", label=link.organisation.name)
    return link


def _activate(link: Link, *, actor, organisation) -> Link:
    link.status, link.confirmed_at, link.code_hash = Link.Status.ACTIVE, timezone.now(), ""
    link.save(update_fields=["status", "confirmed_at", "code_hash"])
    record_event(safe=link.safe, key=safe_key(link.safe), actor=actor, organisation=organisation, action="link.confirm",
                 label=link.organisation.name)
    journal.record(actor=actor, organisation=link.organisation, action="safe_link.confirm", target=link)
    return link


@transaction.atomic
def link_break(*, actor, link: Link, organisation=None) -> Link:
    """Either side ends the link: every access through it stops at once, and
    the pages a professional has open are told to close what they show."""
    link = Link.objects.select_for_update().get(pk=link.pk)
    by_owner = link.safe.owner_id == actor.pk
    if not by_owner and (organisation is None or organisation.pk != link.organisation_id
                         or not professional_organisations(actor).filter(pk=link.organisation_id).exists()):
        raise PermissionError
    if link.status not in LIVE:
        raise ValidationError("Ce lien est déjà rompu.")
    link.status, link.ended_at, link.ended_by = Link.Status.BROKEN, timezone.now(), actor
    link.save(update_fields=["status", "ended_at", "ended_by"])
    link.shares.all().delete()
    cancel_for_link(link, actor=actor)  # a password waiting through this link opens nothing now
    record_event(safe=link.safe, key=safe_key(link.safe), actor=actor, organisation=None if by_owner else organisation,
                 action="link.break", label=link.organisation.name)
    journal.record(actor=actor, organisation=link.organisation, action="safe_link.break", target=link)
    publish(channel=channels.safe_link(link.pk), type="link.broken", data={"link": link.pk})
    return link


@transaction.atomic
def link_set_deposit(*, viewer: Viewer, link: Link, allowed: bool) -> Link:
    if not viewer.is_owner or link.safe_id != viewer.user.safe.pk or not link.is_active:
        raise PermissionError
    link.may_deposit = allowed
    link.save(update_fields=["may_deposit"])
    record_event(safe=link.safe, key=safe_key(link.safe), actor=viewer.user, action="link.deposit",
                 label=f"{link.organisation.name} : {'autorisé' if allowed else 'retiré'}")
    return link


@transaction.atomic
def share_set(*, viewer: Viewer, link: Link, item, shared: bool, label: str) -> None:
    """Share one item (or a folder and what it holds) with one link, or stop sharing it."""
    if not viewer.is_owner or link.safe_id != viewer.user.safe.pk or item.safe_id != link.safe_id:
        raise PermissionError
    if not link.is_active:
        raise ValidationError("On ne partage qu’avec un lien actif.")
    kind = item._meta.model_name
    existing = Share.objects.filter(link=link, **{kind: item})
    if shared and not existing.exists():
        Share.objects.create(link=link, **{kind: item})
        action = "share.add"
    elif not shared and existing.exists():
        existing.delete()
        action = "share.remove"
    else:
        return
    record_event(safe=link.safe, key=safe_key(link.safe), actor=viewer.user, action=action,
                 label=f"{label} — {link.organisation.name}")
