"""Plain-data views of reports: for agents' consoles, and for the public."""

from django.urls import reverse
from django.utils import timezone


def _iso(value):
    return value.isoformat() if value else None


def _local(value) -> str:
    """The date and time in the commune's time zone, as the console shows it."""
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M") if value else ""


def console_data(report) -> dict:
    """What an agent's console shows in its queue (only agents of the receiving organisation get it)."""
    overdue = bool(report.is_open and report.due_at and report.due_at < timezone.now())
    return {
        "code": report.code,
        "url": reverse("reports:console_detail", kwargs={"code": report.code}),
        "category": str(report.category),
        "status": report.status,
        "status_label": report.get_status_display(),
        "service": report.service.name if report.service_id else None,
        "assignee": report.assignee.display_name if report.assignee_id else None,
        "sector": report.sector.name if report.sector_id else None,
        "address": report.address,
        "latitude": float(report.latitude) if report.latitude is not None else None,
        "longitude": float(report.longitude) if report.longitude is not None else None,
        "created_at": _iso(report.created_at),
        "created_label": _local(report.created_at),
        "due_at": _iso(report.due_at),
        "due_label": _local(report.due_at),
        "overdue": overdue,
    }


def public_data(report) -> dict:
    """What anyone may see: no author text, no photo unless approved."""
    return {
        "code": report.code,
        "url": reverse("reports:public_detail", kwargs={"code": report.code}),
        "category": str(report.category),
        "status": report.status,
        "status_label": report.get_status_display(),
        "text": report.public_text,
        "sector": report.sector.name if report.sector_id else None,
        "latitude": float(report.latitude) if report.latitude is not None else None,
        "longitude": float(report.longitude) if report.longitude is not None else None,
        "created_at": _iso(report.created_at),
        "closed_at": _iso(report.closed_at),
    }
