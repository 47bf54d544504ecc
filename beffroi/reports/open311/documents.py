"""Our models as GeoReport v2 documents, field by field, in the spec's order.

A request shows what the commune's public page shows, nothing more: the
category, the state, the quarter, the text an agent wrote for the public and
the photos an agent approved. The author's description and address, and the
messages between the service and the author, are never published.
"""

from django.urls import reverse
from django.utils import timezone

from beffroi.reports.models import Category, CategoryQuestion, Report

SERVICE_TYPE = "realtime"  # the service_request_id is returned at once
PHOTO_WIDTH = 960  # as on the public page
READ_NOTICE = (
    "Le texte de l’auteur n’est jamais publié : « description » reprend le texte public rédigé par la mairie."
)


def w3c(value) -> str | None:
    """W3C date and time with its offset, in the commune's time zone: 2024-05-02T09:30:00+02:00."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def service(category: Category) -> dict:
    return {
        "service_code": str(category.pk),
        "service_name": category.name,
        "description": category.description or None,
        "metadata": bool(category.questions.all()),  # true: the definition lists attributes
        "type": SERVICE_TYPE,
        "keywords": None,
        "group": category.parent.name if category.parent_id else None,
    }


DATATYPE_DESCRIPTIONS = {
    CategoryQuestion.Kind.STRING: "Texte de 200 caractères au plus.",
    CategoryQuestion.Kind.TEXT: "Texte de 500 caractères au plus.",
    CategoryQuestion.Kind.NUMBER: "Nombre décimal, par exemple 3 ou 2.5.",
    CategoryQuestion.Kind.DATETIME: "Date et heure W3C, par exemple 2026-05-02T09:30:00+02:00.",
    CategoryQuestion.Kind.CHOICE: "Une des clés de values.",
    CategoryQuestion.Kind.CHOICES: "Une ou plusieurs clés de values : attribute[code][]=clé, répété.",
}


def attribute(question: CategoryQuestion, order: int) -> dict:
    return {
        "variable": True,  # the author answers it
        "code": question.code,
        "datatype": question.kind,
        "required": question.required,
        "datatype_description": DATATYPE_DESCRIPTIONS[question.kind],
        "order": order,
        "description": question.label + (f" ({question.help_text})" if question.help_text else ""),
        "values": [{"key": key, "name": name} for key, name in question.options] if question.has_options else None,
    }


def service_definition(category: Category) -> dict:
    questions = category.questions.all()
    return {"service_code": str(category.pk), "attributes": [attribute(q, i) for i, q in enumerate(questions, 1)]}


def agency(report: Report) -> str:
    if report.service_id:
        return f"{report.service.name} ({report.organisation.name})"
    return report.organisation.name


def filing_notice(report: Report, *, media_ignored: bool = False) -> str:
    notice = (
        f"Signalement {report.code} transmis à : {agency(report)}. Délai de traitement indicatif : "
        f"{report.category.deadline_days} jours ouvrés. La description n’est lue que par les agents, "
        "elle n’est jamais publiée."
    )
    if media_ignored:
        notice += " media_url n’est pas pris en compte : ce serveur ne va chercher aucun fichier."
    return notice


def filed(report: Report, *, media_ignored: bool = False) -> dict:
    """The answer to a POST: the id at once (no token), the notice, no account."""
    notice = filing_notice(report, media_ignored=media_ignored)
    return {"service_request_id": report.code, "service_notice": notice, "account_id": None}


def request(report: Report, *, absolute_uri) -> dict:
    """One service request. ``report`` comes from ``queries.public_reports`` (photos, last update)."""
    photos = getattr(report, "public_photos", [])
    media_url = None
    if photos:
        path = reverse("reports:public_photo", kwargs={"photo_id": photos[0].pk, "width": PHOTO_WIDTH})
        media_url = absolute_uri(path)
    place = [report.sector.name] if report.sector_id else []
    updated = report.closed_at if not report.is_open else getattr(report, "last_public_change", None)
    return {
        "service_request_id": report.code,
        "status": "open" if report.is_open else "closed",
        "status_notes": report.get_status_display(),
        "service_name": report.category.name,
        "service_code": str(report.category_id),
        "description": report.public_text or None,
        "agency_responsible": agency(report),
        "service_notice": READ_NOTICE,
        "requested_datetime": w3c(report.created_at),
        "updated_datetime": w3c(updated or report.created_at),
        "expected_datetime": w3c(report.due_at),
        # The author's address is theirs: the quarter and the commune, as on the public page.
        "address": ", ".join([*place, report.commune.name]),
        "address_id": None,
        "zipcode": None,
        "lat": float(report.latitude) if report.latitude is not None else None,
        "long": float(report.longitude) if report.longitude is not None else None,
        "media_url": media_url,
    }
