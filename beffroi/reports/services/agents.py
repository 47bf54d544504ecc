"""The agents' work on a report: its state, transfer, assignment, messages,
photos and what its public page shows. Each write is journaled."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from beffroi.core import journal
from beffroi.core.images import CleanImage
from beffroi.core.models import Membership, Service
from beffroi.core.tasks import enqueue
from beffroi.realtime import channels
from beffroi.realtime.publish import publish
from beffroi.reports import tasks
from beffroi.reports.lifecycle import CLOSED, REPORT_LIFECYCLE
from beffroi.reports.models import MAX_MESSAGE, FollowToken, Report, ReportEntry, ReportPhoto, ReportSubscription
from beffroi.reports.services._shared import (
    add_entry,
    clean_text,
    locked,
    save_photos,
    store_photos,
    tell_author,
    tell_consoles,
    tell_followers,
    with_photo_cleanup,
)


@transaction.atomic
def report_transition(*, actor, report: Report, action: str, text: str = "", duplicate_of: Report | None = None, now=None):
    """Acknowledge, start, resolve, reject, mark as duplicate, reopen."""
    if action == "transfer":
        raise ValidationError("Un transfert se fait avec son propre formulaire.")
    now = now or timezone.now()
    current = locked(report)
    target = REPORT_LIFECYCLE.target(current.status, action, status_label=current.get_status_display())
    text = clean_text(text, field="text", required=action == "reject", limit=MAX_MESSAGE)
    if action == "mark_duplicate":
        _check_duplicate(current, duplicate_of)
    previous = current.status
    current.status = target
    if action == "acknowledge" and current.acknowledged_at is None:
        current.acknowledged_at = now
    if target in CLOSED:
        current.closed_at = now
        if target == Report.Status.RESOLVED:
            current.resolved_at = now
    if action == "reopen":
        current.closed_at = current.resolved_at = None
    if action == "mark_duplicate":
        current.duplicate_of = duplicate_of
    current.save()
    status = {"from_status": previous, "to_status": target}
    add_entry(current, ReportEntry.Kind.STATUS, text=text, public=True, agent=actor, **status)
    if action == "mark_duplicate":
        _merge_followers(current, duplicate_of, actor)
    journal.record(
        actor=actor, organisation=current.organisation, action=f"report.{action}", target=current,
        data={**status, **({"duplicate_of": duplicate_of.code} if duplicate_of else {})},
    )
    tell_consoles(current)
    tell_followers(current)
    enqueue(tasks.push_followers, current.pk, f"{current.get_status_display()} : {current.category.name}", public=True)
    return current


def _check_duplicate(report: Report, original: Report | None) -> None:
    if original is None or original.pk == report.pk:
        raise ValidationError({"duplicate_of": "Choisissez le signalement dont celui-ci est le doublon."})
    if original.organisation_id != report.organisation_id or original.status == Report.Status.DUPLICATE:
        raise ValidationError({"duplicate_of": "Ce signalement ne peut pas recevoir de doublon."})


def _merge_followers(duplicate: Report, original: Report, actor) -> None:
    """The links of a duplicate now follow the original, with its timeline, as
    followers: its followers stay followers, and its author, who is not the
    original's author, gets the original's public view. The original's links
    keep their roles. Push subscriptions go along, as followers'."""
    original = Report.objects.select_for_update().get(pk=original.pk)
    moved = FollowToken.objects.filter(report=duplicate).update(report=original, role=FollowToken.Role.FOLLOWER)
    already = ReportSubscription.objects.filter(report=original).values("endpoint")
    ReportSubscription.objects.filter(report=duplicate, endpoint__in=already).delete()
    ReportSubscription.objects.filter(report=duplicate).update(report=original, role=FollowToken.Role.FOLLOWER)
    original.followers += moved
    original.save(update_fields=["followers"])
    add_entry(
        original, ReportEntry.Kind.MERGE, text=f"Le signalement {duplicate.code} a été fusionné avec celui-ci.",
        public=True, agent=actor,
    )
    tell_consoles(original)
    tell_followers(original)
    tell_followers(duplicate)


@transaction.atomic
def report_transfer(*, actor, report: Report, service: Service, text: str = "") -> Report:
    """Hand a report to another service or organisation; its history goes with it."""
    current = locked(report)
    if current.service_id == service.pk:
        raise ValidationError({"service": "Le signalement est déjà dans ce service."})
    target = REPORT_LIFECYCLE.target(current.status, "transfer", status_label=current.get_status_display())
    text = clean_text(text, field="text", required=False, limit=MAX_MESSAGE)
    previous = {"organisation": current.organisation, "service": current.service, "status": current.status}
    current.status = target
    current.organisation = service.organisation
    current.service = service
    current.assignee = None
    current.acknowledged_at = None
    where = f"{service.name} ({service.organisation.name})"
    current.routing_reason = f"Transféré par {actor.display_name} depuis {previous['service'] or previous['organisation']} : {text or 'sans motif'}."
    current.save()
    add_entry(current, ReportEntry.Kind.TRANSFER, text=f"Transmis à : {where}.", public=True, agent=actor,
              from_status=previous["status"], to_status=target)
    journal.record(
        actor=actor, organisation=previous["organisation"], action="report.transfer", target=current,
        data={"to_organisation": service.organisation_id, "to_service": service.pk, "reason": text},
    )
    if previous["organisation"].pk != current.organisation_id:
        tell_consoles(current, "report.removed", organisation_id=previous["organisation"].pk)
    tell_consoles(current, "report.new")
    tell_followers(current)
    enqueue(tasks.notify_agents, current.pk)
    return current


@transaction.atomic
def report_assign(*, actor, report: Report, agent) -> Report:
    current = locked(report)
    if agent is not None and not Membership.objects.of(agent, current.organisation).exists():
        raise ValidationError({"agent": "Cette personne ne fait pas partie de l’organisation qui traite le signalement."})
    current.assignee = agent
    current.save(update_fields=["assignee"])
    text = f"Attribué à {agent.display_name}." if agent else "Attribution retirée."
    add_entry(current, ReportEntry.Kind.ASSIGNMENT, text=text, public=False, agent=actor)
    journal.record(actor=actor, organisation=current.organisation, action="report.assign", target=current,
                   data={"agent": agent.pk if agent else None})
    tell_consoles(current)
    if agent is not None:
        enqueue(tasks.notify_agents, current.pk)
    return current


# Whether the author sees it (ReportEntry.public); followers never do.
MESSAGE_KINDS = {
    ReportEntry.Kind.REPLY: True,
    ReportEntry.Kind.QUESTION: True,
    ReportEntry.Kind.NOTE: False,
}


@transaction.atomic
def report_message(*, actor, report: Report, kind: str, text: str) -> ReportEntry:
    """A reply to the author, a question to the author, or an internal note."""
    if kind not in MESSAGE_KINDS:
        raise ValidationError({"kind": "Type de message inconnu."})
    current = locked(report)
    text = clean_text(text, field="text", required=True, limit=MAX_MESSAGE)
    public = MESSAGE_KINDS[kind]
    entry = add_entry(current, kind, text=text, public=public, agent=actor)
    journal.record(actor=actor, organisation=current.organisation, action=f"report.{kind}", target=current)
    tell_consoles(current)
    if public:
        tell_author(current)
        title = "Une question de la mairie" if kind == ReportEntry.Kind.QUESTION else "Réponse de la mairie"
        enqueue(tasks.push_followers, current.pk, f"{title} : {current.category.name}")
    return entry


def report_agent_photo(*, actor, report: Report, image: CleanImage) -> ReportPhoto:
    """A photo by an agent (of the resolution, say), shown to the author; to
    followers and the public once approved (``report_moderate``)."""
    stored = store_photos([image])

    @transaction.atomic
    def write():
        current = locked(report)
        entry = add_entry(current, ReportEntry.Kind.PHOTO, text="Photo ajoutée par la mairie.", public=True, agent=actor)
        save_photos(current, stored, entry=entry, by_agent=True)
        journal.record(actor=actor, organisation=current.organisation, action="report.photo", target=current)
        tell_consoles(current)
        tell_author(current)
        return current.photos.order_by("-id").first()

    return with_photo_cleanup(stored, write)


@transaction.atomic
def report_moderate(*, actor, report: Report, public_text: str, public_photo_ids: list[int]) -> Report:
    """What the public page shows: a text written by an agent, approved photos."""
    current = locked(report)
    current.public_text = clean_text(public_text, field="public_text", required=False, limit=300)
    current.save(update_fields=["public_text"])
    photos = ReportPhoto.objects.filter(report=current)
    photos.update(is_public=False)
    approved = photos.filter(pk__in=public_photo_ids).update(is_public=True)
    journal.record(actor=actor, organisation=current.organisation, action="report.moderate", target=current,
                   data={"public_photos": approved})
    publish(channel=channels.public(current.commune_id), type="report.public", data={"code": current.code})
    tell_followers(current)  # followers' pages show the public text and the approved photos
    return current
