"""The reports' dashboard (counts, medians, charts) and its CSV export."""

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from beffroi.core.permissions import requires
from beffroi.reports.charts import bar_chart
from beffroi.reports.forms import PeriodForm
from beffroi.reports.selectors import PERIODS, dashboard, duration_fr, received_since

DEFAULT_DAYS = 30


def _period(request) -> tuple[PeriodForm, int, int]:
    form = PeriodForm(request.GET or None)
    if not form.is_bound:
        return form, DEFAULT_DAYS, 200
    if not form.is_valid():
        return form, DEFAULT_DAYS, 400
    return form, form.cleaned_data["periode"] or DEFAULT_DAYS, 200


@require_GET
@requires("handle_reports")
def dashboard_view(request):
    form, days, status = _period(request)
    stats = dashboard(received_since(request.commune, days))
    charts = [
        ("etat", "Par état", bar_chart((t.label, t.count, t.key) for t in stats.by_status), "État"),
        ("categorie", "Par catégorie", bar_chart((t.label, t.count, None) for t in stats.by_category), "Catégorie"),
        ("quartier", "Par quartier", bar_chart((t.label, t.count, None) for t in stats.by_sector), "Quartier"),
    ]
    context = {
        "form": form,
        "days": days,
        "period_label": PERIODS[days],
        "stats": stats,
        "charts": charts,
        "to_acknowledge": duration_fr(stats.to_acknowledge.seconds),
        "to_resolve": duration_fr(stats.to_resolve.seconds),
        "export_url": reverse("reports:console_export") + "?" + urlencode({"periode": days}),
    }
    return render(request, "reports/console_dashboard.html", context, status=status)


# --- CSV export ------------------------------------------------------------------------------

COLUMNS = [
    "Code", "Catégorie", "Groupe", "Quartier", "État", "Service", "Déposé le", "Pris en compte le", "Résolu le",
    "Échéance", "En retard",
]


def _cell(value) -> str:
    """Text as a spreadsheet reads it, never as a formula (=, +, -, @ at the start)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _late(report, now) -> str:
    """Open past its due date, or closed after it."""
    if report.due_at is None:
        return ""
    return "oui" if (report.closed_at or now) > report.due_at else "non"


@require_GET
@requires("handle_reports")
def export_csv(request):
    """The reports of the period, one line each, for a spreadsheet.

    Not the author's description nor the address: free texts an inhabitant
    wrote may name people, and a file once downloaded escapes the retention
    period after which the application erases them. The code leads to the
    report in the console for whoever needs more.
    """
    _form, days, status = _period(request)
    if status != 200:
        return HttpResponse("Période inconnue : 30, 90 ou 365 jours.", status=400, content_type="text/plain; charset=utf-8")
    now = timezone.now()
    reports = (
        received_since(request.commune, days, now=now)
        .select_related("category__parent", "sector", "service")
        .order_by("created_at", "id")
    )
    filename = f"signalements-{request.commune.slug}-{timezone.localdate(now):%Y-%m-%d}-{days}-jours.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    # The byte order mark makes Excel read UTF-8; the semicolon is the
    # separator it expects with French regional settings.
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for report in reports.iterator(chunk_size=1000):
        category = report.category
        writer.writerow(
            _cell(value)
            for value in (
                report.code,
                category.name,
                category.parent.name if category.parent_id else "",
                report.sector.name if report.sector_id else "",
                report.get_status_display(),
                report.service.name if report.service_id else "",
                _local(report.created_at),
                _local(report.acknowledged_at),
                _local(report.resolved_at),
                _local(report.due_at),
                _late(report, now),
            )
        )
    return response
