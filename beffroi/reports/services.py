"""Writes of the signalements. One transaction each.

Inhabitants' writes (a submission, a message, a follow) are anonymous and go
to the report's timeline only; agents' writes also go to the journal. Every
write announces itself on the channels it concerns, in the same transaction:
the receiving organisation's consoles, and the report's followers when they
may see it. Photos are written to the private storage before the transaction
and removed if it fails.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import IntegrityError, transaction
from django.utils import timezone

from beffroi.core import journal
from beffroi.core.geo import area_contains
from beffroi.core.images import CleanImage
from beffroi.core.models import Membership, Organisation, Sector, Service
from beffroi.core.stored_images import StoredImage, store_image
from beffroi.core.tasks import enqueue
from beffroi.notify.push.validation import validate_endpoint, validate_keys
from beffroi.realtime import channels
from beffroi.realtime.publish import publish
from beffroi.reports import tasks
from beffroi.reports.lifecycle import REPORT_LIFECYCLE
from beffroi.reports.models import (
    MAX_DESCRIPTION,
    MAX_PHOTOS,
    AgentPushSubscription,
    Category,
    FollowToken,
    Report,
    ReportEntry,
    ReportPhoto,
    ReportSettings,
    ReportSubscription,
)
from beffroi.reports.presenters import console_data
from beffroi.reports.questions import clean_answers, kept_after_purge
from beffroi.reports.routing import route
from beffroi.reports.tokens import new_code, new_token, token_hash
from beffroi.reports.working_days import add_working_days

CLOSED = (Report.Status.RESOLVED, Report.Status.REJECTED, Report.Status.DUPLICATE)
MAX_MESSAGE = 2000


@dataclass
class Submission:
    report: Report
    token: str  # shown once to the author; only its hash is kept


def private_storage():
    return storages["private"]


# --- Announcements ---------------------------------------------------------------


def _tell_consoles(report: Report, event_type: str = "report.changed", organisation_id: int | None = None) -> None:
    publish(
        channel=channels.reports_received(organisation_id or report.organisation_id),
        type=event_type,
        data={"report": console_data(report)},
    )


def _tell_followers(report: Report) -> None:
    """Followers' pages reload their timeline; nothing private is in the event."""
    publish(
        channel=channels.report(report.pk),
        type="report.changed",
        data={"status": report.status, "status_label": report.get_status_display()},
    )


def _entry(report: Report, kind: str, *, text: str = "", public: bool, agent=None, by_author=False, **status):
    return ReportEntry.objects.create(
        report=report, kind=kind, text=text, public=public, agent=agent, by_author=by_author, **status
    )


# --- Validation of what inhabitants send ---------------------------------------------


def _clean_text(text: str, *, field: str, required: bool, limit: int) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationError({field: "Décrivez le problème en quelques mots."})
    if len(text) > limit:
        raise ValidationError({field: f"Texte trop long : {limit} caractères au plus."})
    if "\x00" in text:
        raise ValidationError({field: "Ce texte contient un caractère non permis."})
    return text


def _check_location(commune, latitude, longitude, address: str) -> Sector | None:
    """The sector of the point, after checking the point is in the commune."""
    if latitude is None or longitude is None:
        if latitude is not None or longitude is not None:
            raise ValidationError({"location": "Position incomplète : il faut la latitude et la longitude."})
        if not address:
            raise ValidationError({"location": "Indiquez le lieu : sur la carte, ou par une adresse ou un repère."})
        return None
    lat, lon = float(latitude), float(longitude)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError({"location": "Position impossible : latitude entre -90 et 90, longitude entre -180 et 180."})
    if commune.area and not area_contains(commune.area, lon, lat):
        other = next(
            (
                o
                for o in Organisation.objects.communes().active().exclude(pk=commune.pk).exclude(area=None)
                if area_contains(o.area, lon, lat)
            ),
            None,
        )
        where = f" Ce lieu relève de la commune de {other.name} : signalez-le auprès d’elle." if other else ""
        raise ValidationError({"location": f"Ce lieu est en dehors de {commune.name}.{where}"})
    return next((s for s in Sector.objects.filter(organisation=commune) if area_contains(s.area, lon, lat)), None)


def _stored_photos(photos: list[CleanImage]) -> list[StoredImage]:
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": f"{MAX_PHOTOS} photos au plus."})
    return [store_image(photo, folder="signalements", storage=private_storage()) for photo in photos]


def _save_photos(report, stored: list[StoredImage], *, entry=None, by_agent=False) -> None:
    ReportPhoto.objects.bulk_create(
        ReportPhoto(
            report=report, entry=entry, image=s.name, renditions=s.renditions, width=s.width, height=s.height,
            by_agent=by_agent,
        )
        for s in stored
    )


def _with_photo_cleanup(stored: list[StoredImage], write):
    try:
        return write()
    except BaseException:
        for photo in stored:
            photo.delete()
        raise


def _quantise(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.000001"))


# --- Inhabitants ----------------------------------------------------------------------


def report_submit(
    *, commune, category: Category, description: str, latitude=None, longitude=None, address: str = "",
    photos: list[CleanImage] = (), answers: Mapping[str, list[str]] | None = None, now=None,
) -> Submission:
    """File a report: route it, give its author a code and a secret link, tell the service.

    ``answers``: the category's questions' answers, by question code (see questions.py).
    """
    now = now or timezone.now()
    if not Category.objects.for_commune(commune).leaves().filter(pk=category.pk).exists():
        raise ValidationError({"category": "Cette catégorie n’existe pas pour cette commune."})
    checked_answers = clean_answers(category, answers or {})
    description = _clean_text(description, field="description", required=True, limit=MAX_DESCRIPTION)
    address = _clean_text(address, field="address", required=False, limit=300)
    sector = _check_location(commune, latitude, longitude, address)
    stored = _stored_photos(list(photos))

    @transaction.atomic
    def write():
        destination = route(category=category, sector=sector, at=now)
        report = Report(
            commune=commune,
            category=category,
            description=description,
            latitude=_quantise(latitude),
            longitude=_quantise(longitude),
            address=address,
            answers=checked_answers,
            sector=sector,
            organisation=destination.organisation,
            service=destination.service,
            assignee=destination.agent,
            routing_reason=destination.reason,
            due_at=add_working_days(now, category.deadline_days),
        )
        for _attempt in range(5):
            report.code = new_code()
            try:
                with transaction.atomic():
                    report.save()
                break
            except IntegrityError:
                continue  # the same code drawn twice: draw again
        else:
            raise RuntimeError("Aucun code de suivi libre trouvé.")
        token = new_token()
        FollowToken.objects.create(report=report, token_hash=token_hash(token))
        where = destination.service.name if destination.service else destination.organisation.name
        entry = _entry(report, ReportEntry.Kind.SUBMITTED, text=f"Signalement reçu, transmis à : {where}.", public=True)
        _save_photos(report, stored, entry=entry)
        _tell_consoles(report, "report.new")
        enqueue(tasks.notify_agents, report.pk)
        settings = ReportSettings.objects.filter(organisation=destination.organisation).first()
        minutes = settings.escalation_minutes if settings else 60
        enqueue(tasks.escalate_if_unacknowledged, report.pk, run_after=now + timedelta(minutes=minutes))
        return Submission(report, token)

    return _with_photo_cleanup(stored, write)


def report_for_token(token: str) -> Report | None:
    if not token or len(token) > 100:
        return None
    follow = FollowToken.objects.filter(token_hash=token_hash(token)).select_related("report").first()
    return follow.report if follow else None


@transaction.atomic
def report_follow(*, report: Report) -> str:
    """Follow an existing report instead of filing it again: a new secret link."""
    current = Report.objects.select_for_update().get(pk=report.pk)
    if not current.is_open:
        raise ValidationError("Ce signalement est clos : il ne peut plus être suivi.")
    token = new_token()
    FollowToken.objects.create(report=current, token_hash=token_hash(token))
    current.followers += 1
    current.save(update_fields=["followers"])
    _entry(current, ReportEntry.Kind.FOLLOWER, text="Une autre personne a signalé le même problème.", public=False)
    _tell_consoles(current)
    return token


def report_author_message(*, report: Report, text: str = "", photos: list[CleanImage] = ()) -> ReportEntry:
    """A comment, an answer or a photo from a follower, still anonymous."""
    text = _clean_text(text, field="text", required=not photos, limit=MAX_MESSAGE)
    existing = ReportPhoto.objects.filter(report=report, by_agent=False).count()
    if existing + len(photos) > MAX_PHOTOS * 2:
        raise ValidationError({"photos": "Ce signalement a déjà toutes les photos qu’il peut recevoir."})
    stored = _stored_photos(list(photos))

    @transaction.atomic
    def write():
        current = Report.objects.select_for_update().get(pk=report.pk)
        if current.purged_at is not None:
            raise ValidationError("Ce signalement est archivé : il ne reçoit plus de message.")
        entry = _entry(current, ReportEntry.Kind.AUTHOR, text=text, public=True, by_author=True)
        _save_photos(current, stored, entry=entry)
        _tell_consoles(current)
        _tell_followers(current)
        return entry

    return _with_photo_cleanup(stored, write)


# --- Agents -------------------------------------------------------------------------------


def _locked(report: Report) -> Report:
    # "of self": PostgreSQL cannot lock the nullable side of the outer joins.
    return (
        Report.objects.select_for_update(of=("self",))
        .select_related("category", "service", "sector")
        .get(pk=report.pk)
    )


@transaction.atomic
def report_transition(*, actor, report: Report, action: str, text: str = "", duplicate_of: Report | None = None, now=None):
    """Acknowledge, start, resolve, reject, mark as duplicate, reopen."""
    if action == "transfer":
        raise ValidationError("Un transfert se fait avec son propre formulaire.")
    now = now or timezone.now()
    current = _locked(report)
    target = REPORT_LIFECYCLE.target(current.status, action, status_label=current.get_status_display())
    text = _clean_text(text, field="text", required=action == "reject", limit=MAX_MESSAGE)
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
    _entry(current, ReportEntry.Kind.STATUS, text=text, public=True, agent=actor, **status)
    if action == "mark_duplicate":
        _merge_followers(current, duplicate_of, actor)
    journal.record(
        actor=actor, organisation=current.organisation, action=f"report.{action}", target=current,
        data={**status, **({"duplicate_of": duplicate_of.code} if duplicate_of else {})},
    )
    _tell_consoles(current)
    _tell_followers(current)
    enqueue(tasks.push_followers, current.pk, f"{current.get_status_display()} : {current.category.name}")
    return current


def _check_duplicate(report: Report, original: Report | None) -> None:
    if original is None or original.pk == report.pk:
        raise ValidationError({"duplicate_of": "Choisissez le signalement dont celui-ci est le doublon."})
    if original.organisation_id != report.organisation_id or original.status == Report.Status.DUPLICATE:
        raise ValidationError({"duplicate_of": "Ce signalement ne peut pas recevoir de doublon."})


def _merge_followers(duplicate: Report, original: Report, actor) -> None:
    """The followers of a duplicate now follow the original, with its timeline."""
    original = Report.objects.select_for_update().get(pk=original.pk)
    moved = FollowToken.objects.filter(report=duplicate).update(report=original)
    original.followers += moved
    original.save(update_fields=["followers"])
    _entry(
        original, ReportEntry.Kind.MERGE, text=f"Le signalement {duplicate.code} a été fusionné avec celui-ci.",
        public=True, agent=actor,
    )
    _tell_consoles(original)
    _tell_followers(original)
    _tell_followers(duplicate)


@transaction.atomic
def report_transfer(*, actor, report: Report, service: Service, text: str = "") -> Report:
    """Hand a report to another service or organisation; its history goes with it."""
    current = _locked(report)
    if current.service_id == service.pk:
        raise ValidationError({"service": "Le signalement est déjà dans ce service."})
    target = REPORT_LIFECYCLE.target(current.status, "transfer", status_label=current.get_status_display())
    text = _clean_text(text, field="text", required=False, limit=MAX_MESSAGE)
    previous = {"organisation": current.organisation, "service": current.service, "status": current.status}
    current.status = target
    current.organisation = service.organisation
    current.service = service
    current.assignee = None
    current.acknowledged_at = None
    where = f"{service.name} ({service.organisation.name})"
    current.routing_reason = f"Transféré par {actor.display_name} depuis {previous['service'] or previous['organisation']} : {text or 'sans motif'}."
    current.save()
    _entry(current, ReportEntry.Kind.TRANSFER, text=f"Transmis à : {where}.", public=True, agent=actor,
           from_status=previous["status"], to_status=target)
    journal.record(
        actor=actor, organisation=previous["organisation"], action="report.transfer", target=current,
        data={"to_organisation": service.organisation_id, "to_service": service.pk, "reason": text},
    )
    if previous["organisation"].pk != current.organisation_id:
        _tell_consoles(current, "report.removed", organisation_id=previous["organisation"].pk)
    _tell_consoles(current, "report.new")
    _tell_followers(current)
    enqueue(tasks.notify_agents, current.pk)
    return current


@transaction.atomic
def report_assign(*, actor, report: Report, agent) -> Report:
    current = _locked(report)
    if agent is not None and not Membership.objects.of(agent, current.organisation).exists():
        raise ValidationError({"agent": "Cette personne ne fait pas partie de l’organisation qui traite le signalement."})
    current.assignee = agent
    current.save(update_fields=["assignee"])
    text = f"Attribué à {agent.display_name}." if agent else "Attribution retirée."
    _entry(current, ReportEntry.Kind.ASSIGNMENT, text=text, public=False, agent=actor)
    journal.record(actor=actor, organisation=current.organisation, action="report.assign", target=current,
                   data={"agent": agent.pk if agent else None})
    _tell_consoles(current)
    if agent is not None:
        enqueue(tasks.notify_agents, current.pk)
    return current


MESSAGE_KINDS = {
    ReportEntry.Kind.REPLY: True,  # public
    ReportEntry.Kind.QUESTION: True,
    ReportEntry.Kind.NOTE: False,
}


@transaction.atomic
def report_message(*, actor, report: Report, kind: str, text: str) -> ReportEntry:
    """A public reply, a question to the author, or an internal note."""
    if kind not in MESSAGE_KINDS:
        raise ValidationError({"kind": "Type de message inconnu."})
    current = _locked(report)
    text = _clean_text(text, field="text", required=True, limit=MAX_MESSAGE)
    public = MESSAGE_KINDS[kind]
    entry = _entry(current, kind, text=text, public=public, agent=actor)
    journal.record(actor=actor, organisation=current.organisation, action=f"report.{kind}", target=current)
    _tell_consoles(current)
    if public:
        _tell_followers(current)
        title = "Une question de la mairie" if kind == ReportEntry.Kind.QUESTION else "Réponse de la mairie"
        enqueue(tasks.push_followers, current.pk, f"{title} : {current.category.name}")
    return entry


def report_agent_photo(*, actor, report: Report, image: CleanImage) -> ReportPhoto:
    """A photo by an agent (of the resolution, say), visible to followers."""
    stored = _stored_photos([image])

    @transaction.atomic
    def write():
        current = _locked(report)
        entry = _entry(current, ReportEntry.Kind.PHOTO, text="Photo ajoutée par la mairie.", public=True, agent=actor)
        _save_photos(current, stored, entry=entry, by_agent=True)
        journal.record(actor=actor, organisation=current.organisation, action="report.photo", target=current)
        _tell_consoles(current)
        _tell_followers(current)
        return current.photos.order_by("-id").first()

    return _with_photo_cleanup(stored, write)


@transaction.atomic
def report_moderate(*, actor, report: Report, public_text: str, public_photo_ids: list[int]) -> Report:
    """What the public page shows: a text written by an agent, approved photos."""
    current = _locked(report)
    current.public_text = _clean_text(public_text, field="public_text", required=False, limit=300)
    current.save(update_fields=["public_text"])
    photos = ReportPhoto.objects.filter(report=current)
    photos.update(is_public=False)
    approved = photos.filter(pk__in=public_photo_ids).update(is_public=True)
    journal.record(actor=actor, organisation=current.organisation, action="report.moderate", target=current,
                   data={"public_photos": approved})
    publish(channel=channels.public(current.commune_id), type="report.public", data={"code": current.code})
    return current


# --- System ---------------------------------------------------------------------------------


def escalate_if_unacknowledged(*, report_id: int, now=None) -> bool:
    """Still not acknowledged: e-mail the service, and its head. Once."""
    now = now or timezone.now()
    with transaction.atomic():
        current = Report.objects.select_for_update().filter(pk=report_id).first()
        if current is None or current.status != Report.Status.NEW or current.escalated_at is not None:
            return False
        current.escalated_at = now
        head = current.service.head if current.service_id else None
        text = "Pas encore pris en compte : le service a été relancé par courriel"
        if head is not None:
            text += f", et le signalement confié à son responsable, {head.display_name}."
            current.assignee = head
        else:
            text += "."
        current.save(update_fields=["escalated_at", "assignee"])
        _entry(current, ReportEntry.Kind.ESCALATION, text=text, public=False)
        journal.record(actor=None, organisation=current.organisation, action="report.escalate", target=current)
        _tell_consoles(current)
        enqueue(tasks.send_escalation_email, current.pk)
        if head is not None:
            enqueue(tasks.notify_agents, current.pk)
    return True


def purge_closed_reports(*, now=None) -> int:
    """Photos and free texts of reports closed long enough ago are erased."""
    now = now or timezone.now()
    purged = 0
    for settings in ReportSettings.objects.all():
        cutoff = now - timedelta(days=settings.retention_days)
        due = Report.objects.filter(
            organisation=settings.organisation, status__in=CLOSED, closed_at__lt=cutoff, purged_at__isnull=True
        )
        for report_id in list(due.values_list("pk", flat=True)):
            purged += _purge(report_id, now)
    return purged


def _purge(report_id: int, now) -> int:
    storage = private_storage()
    with transaction.atomic():
        current = Report.objects.select_for_update().get(pk=report_id)
        names = [n for p in current.photos.all() for n in [p.image, *p.renditions.values()]]
        current.photos.all().delete()
        current.entries.exclude(text="").update(text="")
        current.description = ""
        current.address = ""
        current.answers = kept_after_purge(current.answers)
        current.purged_at = now
        current.save(update_fields=["description", "address", "answers", "purged_at"])
        _entry(current, ReportEntry.Kind.PURGE, text="", public=True)
        journal.record(actor=None, organisation=current.organisation, action="report.purge", target=current)
        transaction.on_commit(lambda: [storage.delete(name) for name in names])
    return 1


# --- Web Push subscriptions ------------------------------------------------------------


@transaction.atomic
def follower_push_subscribe(*, report: Report, endpoint: str, p256dh: str, auth: str) -> None:
    """Push for this report only, from its follow-up page: endpoint and keys, nothing else."""
    validate_endpoint(endpoint)
    validate_keys(p256dh, auth)
    ReportSubscription.objects.update_or_create(report=report, endpoint=endpoint, defaults={"p256dh": p256dh, "auth": auth})


@transaction.atomic
def agent_push_subscribe(*, user, organisation, endpoint: str, p256dh: str, auth: str) -> None:
    validate_endpoint(endpoint)
    validate_keys(p256dh, auth)
    AgentPushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "organisation": organisation, "p256dh": p256dh, "auth": auth}
    )
