"""Counts that apps declare, read from the database at scrape time.

An app registers, in its ``AppConfig.ready()``, what to count: a model, an
optional filter, the fields that become labels, and optionally a date field
that restricts the count to today (local time). This package thus reads
domain tables without importing domain apps, and adding an app touches no
file here::

    facts.register_count(
        "beffroi_safe_documents_damaged", "Documents whose last integrity check failed.",
        model="safe.Document", where=Q(check_failed_at__isnull=False),
    )
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.db.models import Count, DateTimeField, Q, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class CountFact:
    name: str
    documentation: str
    model: str  # "app_label.ModelName"
    labels: dict[str, str] = field(default_factory=dict)  # label → field ("organisation__slug")
    where: Q | None = None
    today: str | None = None  # a date or date-time field: today's rows only (local time)
    total: str | None = None  # a numeric field to add up, instead of counting rows

    def family(self, now: datetime) -> GaugeMetricFamily:
        model = apps.get_model(self.model)
        rows = model.objects.all()
        if self.where is not None:
            rows = rows.filter(self.where)
        if self.today:
            local = timezone.localtime(now)
            if isinstance(model._meta.get_field(self.today), DateTimeField):
                midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
                rows = rows.filter(**{f"{self.today}__gte": midnight})
            else:
                rows = rows.filter(**{self.today: local.date()})
        measure = Sum(self.total) if self.total else Count("pk")
        family = GaugeMetricFamily(self.name, self.documentation, labels=list(self.labels))
        if not self.labels:
            family.add_metric([], rows.aggregate(_n=measure)["_n"] or 0)
            return family
        fields = list(self.labels.values())
        for row in rows.order_by().values(*fields).annotate(_n=measure):
            family.add_metric(["" if row[f] is None else str(row[f]) for f in fields], row["_n"] or 0)
        return family


_facts: dict[str, CountFact] = {}


def register_count(
    name: str,
    documentation: str,
    *,
    model: str,
    labels: dict[str, str] | None = None,
    where: Q | None = None,
    today: str | None = None,
    total: str | None = None,
) -> None:
    """Expose ``name`` (a gauge): rows of ``model`` matching ``where`` (and of
    today, by the ``today`` field), counted, or their ``total`` field added
    up, per value of the ``labels`` fields. Registering a name again replaces it."""
    if not _NAME.match(name) or not all(_NAME.match(label) for label in labels or {}):
        raise ValueError(f"Nom de métrique ou d’étiquette invalide : {name}")
    _facts[name] = CountFact(name, documentation, model, dict(labels or {}), where, today, total)


def families(now: datetime):
    for fact in _facts.values():
        yield fact.family(now)
