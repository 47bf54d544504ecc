"""Erasing what inhabitants wrote and photographed, once a report has been
closed for the organisation's retention period; the rest stays for statistics."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from beffroi.core import journal
from beffroi.reports.lifecycle import CLOSED
from beffroi.reports.models import Report, ReportEntry, ReportSettings
from beffroi.reports.photos import private_storage
from beffroi.reports.questions import kept_after_purge
from beffroi.reports.services._shared import add_entry


def purge_closed_reports(*, now=None) -> int:
    """Photos and free texts of reports closed long enough ago are erased."""
    now = now or timezone.now()
    purged = 0
    for config in ReportSettings.objects.all():
        cutoff = now - timedelta(days=config.retention_days)
        due = Report.objects.filter(
            organisation=config.organisation, status__in=CLOSED, closed_at__lt=cutoff, purged_at__isnull=True
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
        add_entry(current, ReportEntry.Kind.PURGE, text="", public=True)
        journal.record(actor=None, organisation=current.organisation, action="report.purge", target=current)
        transaction.on_commit(lambda: [storage.delete(name) for name in names])
    return 1
