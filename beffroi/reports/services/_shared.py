"""Helpers shared by the report services: announcements, timeline entries,
checks of the text people send, photos, locking."""

from django.core.exceptions import ValidationError

from beffroi.core.images import CleanImage
from beffroi.core.stored_images import StoredImage, store_image
from beffroi.realtime import channels
from beffroi.realtime.publish import publish
from beffroi.reports.models import MAX_PHOTOS, Report, ReportEntry, ReportPhoto
from beffroi.reports.photos import private_storage
from beffroi.reports.presenters import console_data

# --- Announcements ---------------------------------------------------------------------------


def tell_consoles(report: Report, event_type: str = "report.changed", organisation_id: int | None = None) -> None:
    publish(
        channel=channels.reports_received(organisation_id or report.organisation_id),
        type=event_type,
        data={"report": console_data(report)},
    )


def _report_changed(channel: str, report: Report) -> None:
    # The state only: the page then reloads its timeline through its own link,
    # which shows what that link may see.
    publish(
        channel=channel, type="report.changed",
        data={"status": report.status, "status_label": report.get_status_display()},
    )


def tell_followers(report: Report) -> None:
    """A public step (a new state, a transfer, a merge, what the public page
    shows): every holder of a follow link is told, author or follower."""
    _report_changed(channels.report(report.pk), report)


def tell_author(report: Report) -> None:
    """A step between the author and the agents (the author's message, a reply,
    a question, an agent's photo): the author's pages only; followers never
    learn that it happened."""
    _report_changed(channels.report_author(report.pk), report)


# --- Timeline ----------------------------------------------------------------------------------


def add_entry(report: Report, kind: str, *, text: str = "", public: bool, agent=None, by_author=False, **status):
    return ReportEntry.objects.create(
        report=report, kind=kind, text=text, public=public, agent=agent, by_author=by_author, **status
    )


def locked(report: Report) -> Report:
    # "of self": PostgreSQL cannot lock the nullable side of the outer joins.
    return (
        Report.objects.select_for_update(of=("self",))
        .select_related("category", "service", "sector")
        .get(pk=report.pk)
    )


# --- What people send ------------------------------------------------------------------------


def clean_text(text: str, *, field: str, required: bool, limit: int) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationError({field: "Décrivez le problème en quelques mots."})
    if len(text) > limit:
        raise ValidationError({field: f"Texte trop long : {limit} caractères au plus."})
    if "\x00" in text:
        raise ValidationError({field: "Ce texte contient un caractère non permis."})
    return text


# --- Photos ----------------------------------------------------------------------------------------


def store_photos(photos: list[CleanImage]) -> list[StoredImage]:
    """Written to the private storage before the transaction (see ``with_photo_cleanup``)."""
    if len(photos) > MAX_PHOTOS:
        raise ValidationError({"photos": f"{MAX_PHOTOS} photos au plus."})
    return [store_image(photo, folder="signalements", storage=private_storage()) for photo in photos]


def save_photos(report, stored: list[StoredImage], *, entry=None, by_agent=False) -> None:
    ReportPhoto.objects.bulk_create(
        ReportPhoto(
            report=report, entry=entry, image=s.name, renditions=s.renditions, width=s.width, height=s.height,
            by_agent=by_agent,
        )
        for s in stored
    )


def with_photo_cleanup(stored: list[StoredImage], write):
    """Run ``write``; if it fails, the photos it would have referenced are removed."""
    try:
        return write()
    except BaseException:
        for photo in stored:
            photo.delete()
        raise
