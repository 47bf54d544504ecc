"""Reading the spec's parameters, and the querysets they select.

Every parameter is checked before it reaches the database: an error names it,
in French, with the spec's status (404 for what does not exist, 400 for the rest).
"""

import math
import re
from datetime import datetime, time, timedelta

from django.db.models import OuterRef, Prefetch, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from beffroi.reports.models import Category, Report, ReportEntry, ReportPhoto, ReportQuerySet
from beffroi.reports.open311.formats import Open311Error
from beffroi.reports.tokens import normalise_code

WINDOW = timedelta(days=90)  # the spec's default span, and the longest one asked
MAX_RESULTS = 1000  # the spec's default limit
MAX_LISTED = 1000  # ids or codes in one comma-separated parameter
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200
CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
SERVICE_CODE = re.compile(r"[0-9]{1,18}")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
STATUSES = {
    "open": [s for s in ReportQuerySet.PUBLIC if s in ReportQuerySet.OPEN],
    "closed": [s for s in ReportQuerySet.PUBLIC if s not in ReportQuerySet.OPEN],
}


def _shown(value: str) -> str:
    """A value quoted back in a message, cut short."""
    value = value.replace("\x00", "")
    return f"« {value[:40]}… »" if len(value) > 40 else f"« {value} »"


# --- Jurisdiction -----------------------------------------------------------------------


def _site_name(value: str) -> str:
    value = value.strip().lower()
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    return value.split("/", 1)[0].removeprefix("www.")


def check_jurisdiction(value: str | None, commune) -> None:
    """Optional: when given, it must name this commune (a host name of its site, its identifier or INSEE code)."""
    if not value or not value.strip():
        return
    names = {commune.slug, *(_site_name(d.hostname) for d in commune.domains.all())}
    if commune.insee_code:
        names.add(commune.insee_code)
    if _site_name(value) not in names:
        primary = commune.domains.filter(is_primary=True).values_list("hostname", flat=True).first() or commune.slug
        raise Open311Error(
            404, f"jurisdiction_id inconnu ici : {_shown(value)} ne désigne pas {commune.name} (attendu : {_site_name(primary)})."
        )


# --- Services ---------------------------------------------------------------------------


def services(commune):
    """The categories a report can be filed under in this commune, grouped as on the web form."""
    return (
        Category.objects.for_commune(commune)
        .leaves()
        .select_related("parent")
        .prefetch_related("questions")
        .order_by("parent__position", "parent__name", "position", "name")
    )


def service(commune, service_code: str | None) -> Category:
    """The category a service_code names (400 when missing, 404 when it is not one of this commune's)."""
    code = (service_code or "").strip()
    if not code:
        raise Open311Error(400, "service_code manquant : choisissez un service de la liste (services.xml).")
    category = None
    if SERVICE_CODE.fullmatch(code):
        category = services(commune).filter(pk=int(code)).first()
    if category is None:
        raise Open311Error(404, f"service_code inconnu : {_shown(code)} n’est pas un service de cette commune.")
    return category


# --- Requests ---------------------------------------------------------------------------


def public_reports(commune):
    """What the public page shows, with what the documents need, newest first."""
    last_public_change = (
        ReportEntry.objects.filter(report=OuterRef("pk"), public=True).order_by("-created_at").values("created_at")[:1]
    )
    return (
        Report.objects.public().filter(commune=commune)
        .select_related("category", "commune", "organisation", "service", "sector")
        .prefetch_related(Prefetch("photos", queryset=ReportPhoto.objects.filter(is_public=True), to_attr="public_photos"))
        .annotate(last_public_change=Subquery(last_public_change))
        .order_by("-created_at", "-pk")
    )


def request_code(value: str) -> str | None:
    """A tracking code as typed ("4k7q2m9p", "4K7Q-2M9P"), or None when it cannot be one."""
    code = normalise_code(value or "")
    return code if CODE.fullmatch(code) else None


def comma_list(name: str, value: str | None) -> list[str]:
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    if len(items) > MAX_LISTED:
        raise Open311Error(400, f"{name} : {MAX_LISTED} valeurs au plus.")
    return items


def _when(name: str, value: str, *, end: bool) -> datetime:
    """A W3C date and time ("2024-05-01T00:00:00Z", or "+02:00"); a bare date is its whole day."""
    value = value.strip()
    problem = (
        f"{name} invalide : {_shown(value)}. Format attendu (W3C) : 2024-05-01T00:00:00Z ou 2024-05-01T00:00:00+02:00."
    )
    try:
        day = parse_date(value) if DAY.fullmatch(value) else None
        moment = None if day else parse_datetime(value)
    except ValueError:  # well formed, but not a date (month 13...)
        raise Open311Error(400, problem) from None
    if day is None and moment is None:
        raise Open311Error(400, problem)
    if not EARLIEST_YEAR <= (day or moment).year <= LATEST_YEAR:
        raise Open311Error(400, f"{name} hors limites : entre {EARLIEST_YEAR} et {LATEST_YEAR}.")
    if day is not None:
        moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def window(start_date: str | None, end_date: str | None, *, now=None) -> tuple[datetime, datetime]:
    """The span of requested_datetime searched: 90 days at most, the last 90 by default."""
    now = now or timezone.now()
    start = _when("start_date", start_date, end=False) if start_date else None
    end = _when("end_date", end_date, end=True) if end_date else None
    if start is None and end is None:
        return now - WINDOW, now
    if start is None:
        return end - WINDOW, end
    if end is None:
        return start, start + WINDOW
    if end < start:
        raise Open311Error(400, "end_date est antérieure à start_date.")
    if end - start > WINDOW:
        raise Open311Error(400, "La période demandée (start_date à end_date) ne peut pas dépasser 90 jours.")
    return start, end


def search(commune, params) -> list[Report]:
    """GET requests: by ids (which overrides the rest), or by service, status and dates."""
    reports = public_reports(commune)
    ids = comma_list("service_request_id", params.get("service_request_id"))
    if ids:
        codes = [request_code(item) for item in ids]
        wrong = [item for item, code in zip(ids, codes, strict=True) if code is None]
        if wrong:
            raise Open311Error(400, f"service_request_id invalide : {_shown(wrong[0])} (forme attendue : 4K7Q-2M9P).")
        return list(reports.filter(code__in=codes)[:MAX_RESULTS])

    service_codes = comma_list("service_code", params.get("service_code"))
    wrong = [code for code in service_codes if not SERVICE_CODE.fullmatch(code)]
    if wrong:
        raise Open311Error(400, f"service_code invalide : {_shown(wrong[0])} (un nombre, voir services.xml).")
    if service_codes:
        reports = reports.filter(category_id__in=[int(code) for code in service_codes])

    statuses = [status.lower() for status in comma_list("status", params.get("status"))]
    wrong = [status for status in statuses if status not in STATUSES]
    if wrong:
        raise Open311Error(400, f"status invalide : {_shown(wrong[0])} (valeurs permises : open, closed).")
    if statuses:
        reports = reports.filter(status__in=[s for status in set(statuses) for s in STATUSES[status]])

    start, end = window(params.get("start_date"), params.get("end_date"))
    return list(reports.filter(created_at__gte=start, created_at__lte=end)[:MAX_RESULTS])


# --- Filing -----------------------------------------------------------------------------


def coordinate(name: str, value: str | None) -> float | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        raise Open311Error(400, f"{name} : nombre attendu (degrés décimaux WGS84), reçu {_shown(value)}.") from None
    if not math.isfinite(number):
        raise Open311Error(400, f"{name} : nombre attendu (degrés décimaux WGS84), reçu {_shown(value)}.")
    return number
