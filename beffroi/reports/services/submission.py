"""What inhabitants send: a report, a follow instead of a second report, the
author's messages. Anonymous: written to the report's timeline, not the journal.

Each follow link carries its role (``FollowToken.role``): the author's link
opens the author's view and may write to the agents; a follower's opens the
public view only.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from beffroi.core.geo import area_contains
from beffroi.core.images import CleanImage
from beffroi.core.models import Organisation, Sector
from beffroi.core.tasks import enqueue
from beffroi.reports import tasks
from beffroi.reports.models import (
    MAX_DESCRIPTION,
    MAX_MESSAGE,
    MAX_PHOTOS,
    Category,
    FollowToken,
    Report,
    ReportEntry,
    ReportPhoto,
    ReportSettings,
)
from beffroi.reports.questions import clean_answers
from beffroi.reports.routing import route
from beffroi.reports.services._shared import (
    add_entry,
    clean_text,
    save_photos,
    store_photos,
    tell_author,
    tell_consoles,
    with_photo_cleanup,
)
from beffroi.reports.tokens import new_code, new_token, token_hash
from beffroi.reports.working_days import add_working_days


@dataclass
class Submission:
    report: Report
    token: str  # shown once to the author; only its hash is kept


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


def _quantise(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.000001"))


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
    description = clean_text(description, field="description", required=True, limit=MAX_DESCRIPTION)
    address = clean_text(address, field="address", required=False, limit=300)
    sector = _check_location(commune, latitude, longitude, address)
    stored = store_photos(list(photos))

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
        FollowToken.objects.create(report=report, token_hash=token_hash(token), role=FollowToken.Role.AUTHOR)
        where = destination.service.name if destination.service else destination.organisation.name
        entry = add_entry(report, ReportEntry.Kind.SUBMITTED, text=f"Signalement reçu, transmis à : {where}.", public=True)
        save_photos(report, stored, entry=entry)
        tell_consoles(report, "report.new")
        enqueue(tasks.notify_agents, report.pk)
        config = ReportSettings.objects.filter(organisation=destination.organisation).first()
        minutes = config.escalation_minutes if config else 60
        enqueue(tasks.escalate_if_unacknowledged, report.pk, run_after=now + timedelta(minutes=minutes))
        return Submission(report, token)

    return with_photo_cleanup(stored, write)


@transaction.atomic
def report_follow(*, report: Report) -> str:
    """Follow an existing report instead of filing it again: a new secret link,
    a follower's (the public view)."""
    current = Report.objects.select_for_update().get(pk=report.pk)
    if not current.is_open:
        raise ValidationError("Ce signalement est clos : il ne peut plus être suivi.")
    token = new_token()
    FollowToken.objects.create(report=current, token_hash=token_hash(token), role=FollowToken.Role.FOLLOWER)
    current.followers += 1
    current.save(update_fields=["followers"])
    add_entry(current, ReportEntry.Kind.FOLLOWER, text="Une autre personne a signalé le même problème.", public=False)
    tell_consoles(current)
    return token


AUTHOR_ONLY = "Ce lien permet de suivre le signalement, pas d’écrire aux agents : seul son auteur peut ajouter une précision ou une photo."


def report_author_message(*, follow: FollowToken, text: str = "", photos: list[CleanImage] = ()) -> ReportEntry:
    """A comment, an answer or a photo from the author (``follow``: their link), still anonymous."""
    if not follow.is_author:
        raise PermissionDenied(AUTHOR_ONLY)
    text = clean_text(text, field="text", required=not photos, limit=MAX_MESSAGE)
    existing = ReportPhoto.objects.filter(report_id=follow.report_id, by_agent=False).count()
    if existing + len(photos) > MAX_PHOTOS * 2:
        raise ValidationError({"photos": "Ce signalement a déjà toutes les photos qu’il peut recevoir."})
    stored = store_photos(list(photos))

    @transaction.atomic
    def write():
        # The report, then the link, as a merge locks them; read again under
        # lock, since a merge makes the link a follower's of another report.
        current = Report.objects.select_for_update().get(pk=follow.report_id)
        link = FollowToken.objects.select_for_update().filter(pk=follow.pk, report=current).first()
        if link is None or not link.is_author:
            raise PermissionDenied(AUTHOR_ONLY)
        if current.purged_at is not None:
            raise ValidationError("Ce signalement est archivé : il ne reçoit plus de message.")
        entry = add_entry(current, ReportEntry.Kind.AUTHOR, text=text, public=True, by_author=True)
        save_photos(current, stored, entry=entry)
        tell_consoles(current)
        tell_author(current)
        return entry

    return with_photo_cleanup(stored, write)
