"""Reads of the signalements reused by several views: what a follow link opens,
the console's filters, the dashboard's figures."""

import statistics
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Case, Count, F, Q, TextField, Value, When
from django.utils import timezone

from beffroi.realtime import channels
from beffroi.reports.models import FollowToken, Report, ReportEntry, ReportPhoto, ReportQuerySet
from beffroi.reports.tokens import token_hash


def follow_for_token(token: str) -> FollowToken | None:
    """The follow link a token opens, with its report and its role (what it may see and do)."""
    if not token or len(token) > 100:
        return None
    return FollowToken.objects.filter(token_hash=token_hash(token)).select_related("report").first()


# What a follower reads of the timeline: the public steps, and of their texts
# only those the application wrote. Never the author's messages, nor what the
# agents wrote to the author (a reply, a question, the words of a state change).
FOLLOWER_STEPS = (
    ReportEntry.Kind.SUBMITTED, ReportEntry.Kind.STATUS, ReportEntry.Kind.TRANSFER, ReportEntry.Kind.MERGE,
)
FOLLOWER_TEXTS = (ReportEntry.Kind.SUBMITTED, ReportEntry.Kind.TRANSFER, ReportEntry.Kind.MERGE)


def follow_entries(follow: FollowToken):
    """The timeline a follow link shows, each entry with the ``shown_text`` it may read.

    The author's: every step meant for them, with its photos. A follower's:
    the public steps, without their photos (approved ones: ``follow_photos``).
    """
    entries = follow.report.entries.filter(public=True)
    if follow.is_author:
        return entries.annotate(shown_text=F("text")).prefetch_related("photos")
    shown = Case(When(kind__in=FOLLOWER_TEXTS, then=F("text")), default=Value(""), output_field=TextField())
    return entries.filter(kind__in=FOLLOWER_STEPS).defer("text").annotate(shown_text=shown)


def follow_channels(report_id: int, *, author: bool) -> tuple[str, ...]:
    """The channels a follow link's page listens to: the public steps, and for
    the author also the steps between the author and the agents."""
    if author:
        return (channels.report(report_id), channels.report_author(report_id))
    return (channels.report(report_id),)


def follow_photos(follow: FollowToken):
    """The photos a follow link may open: all of the report's for its author, approved ones for a follower."""
    photos = ReportPhoto.objects.filter(report_id=follow.report_id)
    return photos if follow.is_author else photos.filter(is_public=True)


# The dashboard's periods, in days.
PERIODS = {30: "30 derniers jours", 90: "90 derniers jours", 365: "12 derniers mois"}

# The console's age filter: (newer than, older than) in days.
AGES = {
    "1": ("moins de 24 heures", 1, None),
    "7": ("moins de 7 jours", 7, None),
    "30": ("moins de 30 jours", 30, None),
    "plus-7": ("plus de 7 jours", None, 7),
    "plus-30": ("plus de 30 jours", None, 30),
}


def filter_reports(reports, data: dict, *, now=None):
    """The console's filters (QueueFilterForm's cleaned data); open reports by default."""
    now = now or timezone.now()
    state = data.get("etat") or ""
    if state == "":
        reports = reports.open()
    elif state != "tous":
        reports = reports.filter(status=state)
    if data.get("categorie"):
        category = data["categorie"]
        reports = reports.filter(Q(category=category) | Q(category__parent=category))
    if data.get("service"):
        reports = reports.filter(service=data["service"])
    if data.get("quartier"):
        reports = reports.filter(sector=data["quartier"])
    if data.get("age") in AGES:
        _label, newer, older = AGES[data["age"]]
        if newer is not None:
            reports = reports.filter(created_at__gte=now - timedelta(days=newer))
        if older is not None:
            reports = reports.filter(created_at__lt=now - timedelta(days=older))
    return reports


def received_since(organisation, days: int, *, now=None):
    """Reports the organisation received, filed in the last ``days`` days."""
    now = now or timezone.now()
    return Report.objects.received_by(organisation).filter(created_at__gte=now - timedelta(days=days))


@dataclass
class Tally:
    key: str
    label: str
    count: int


@dataclass
class Median:
    seconds: float | None
    among: int  # how many reports it was computed on


@dataclass
class Dashboard:
    total: int = 0
    open: int = 0
    overdue: int = 0
    by_status: list[Tally] = field(default_factory=list)
    by_category: list[Tally] = field(default_factory=list)
    by_sector: list[Tally] = field(default_factory=list)
    to_acknowledge: Median = field(default_factory=lambda: Median(None, 0))
    to_resolve: Median = field(default_factory=lambda: Median(None, 0))


def _median(pairs) -> Median:
    """Median of (start, end) durations, in seconds; computed here, the same on
    SQLite and PostgreSQL (neither's SQL median is portable)."""
    durations = [(end - start).total_seconds() for start, end in pairs if end is not None and end >= start]
    return Median(statistics.median(durations) if durations else None, len(durations))


def dashboard(reports, *, now=None) -> Dashboard:
    now = now or timezone.now()
    result = Dashboard()
    statuses = dict(reports.order_by().values_list("status").annotate(n=Count("id")))
    result.by_status = [Tally(value, label, statuses.get(value, 0)) for value, label in Report.Status.choices]
    result.total = sum(statuses.values())
    result.open = sum(statuses.get(value, 0) for value in ReportQuerySet.OPEN)
    result.overdue = reports.open().filter(due_at__lt=now).count()

    categories = (
        reports.order_by()
        .values("category_id", "category__name", "category__parent__name")
        .annotate(n=Count("id"))
    )
    result.by_category = sorted(
        (
            Tally(
                str(row["category_id"]),
                f"{row['category__parent__name']} › {row['category__name']}"
                if row["category__parent__name"]
                else row["category__name"],
                row["n"],
            )
            for row in categories
        ),
        key=lambda item: (-item.count, item.label),
    )
    sectors = reports.order_by().values("sector_id", "sector__name").annotate(n=Count("id"))
    result.by_sector = sorted(
        (Tally(str(row["sector_id"] or ""), row["sector__name"] or "Hors quartier ou sans position", row["n"])
         for row in sectors),
        key=lambda item: (item.key == "", -item.count, item.label),
    )
    result.to_acknowledge = _median(
        reports.filter(acknowledged_at__isnull=False).values_list("created_at", "acknowledged_at").iterator()
    )
    result.to_resolve = _median(
        reports.filter(resolved_at__isnull=False).values_list("created_at", "resolved_at").iterator()
    )
    return result


def duration_fr(seconds: float | None) -> str:
    """« 45 min », « 3 h 05 », « 2 j 4 h »: a delay as an agent reads it."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} j {hours} h" if hours else f"{days} j"
