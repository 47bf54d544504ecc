"""Where a report goes: the first matching rule, or the triage service.

Rules belong to the organisation competent for the category (the commune, or
the agglomeration for its own categories). A rule matches a category or its
group, a sector (or any), and a time: always, office hours, or outside them,
when the service's on-call agent gets it. What matches nothing goes to the
competent organisation's triage service. Every report gets exactly one
destination, and the reason is written down in French.
"""

from dataclasses import dataclass
from datetime import datetime

from beffroi.core.models import Organisation, Sector, Service, User
from beffroi.reports.models import Category, OnCallShift, ReportSettings, RoutingRule
from beffroi.reports.working_days import is_office_time


@dataclass(frozen=True)
class Destination:
    organisation: Organisation
    service: Service | None
    agent: User | None
    rule: RoutingRule | None
    reason: str


def _settings(organisation) -> ReportSettings:
    settings, _ = ReportSettings.objects.get_or_create(organisation=organisation)
    return settings


def _on_call_agent(service: Service, at: datetime) -> User | None:
    shift = OnCallShift.objects.filter(service=service, starts_at__lte=at, ends_at__gt=at).select_related("agent").first()
    return shift.agent if shift else None


def rule_matches(rule: RoutingRule, *, category: Category, sector: Sector | None, office: bool) -> bool:
    if rule.category_id is not None and rule.category_id not in (category.pk, category.parent_id):
        return False
    if rule.sector_id is not None and (sector is None or rule.sector_id != sector.pk):
        return False
    if rule.when == RoutingRule.When.OFFICE and not office:
        return False
    if rule.when == RoutingRule.When.ON_CALL and office:
        return False
    return True


def route(*, category: Category, sector: Sector | None, at: datetime) -> Destination:
    competent = category.organisation
    settings = _settings(competent)
    office = is_office_time(settings.office_hours, at)
    rules = RoutingRule.objects.filter(organisation=competent, is_active=True).select_related(
        "target_organisation", "target_service", "target_agent"
    )
    for rule in rules:
        if rule_matches(rule, category=category, sector=sector, office=office):
            agent = rule.target_agent
            when = "pendant les heures d’ouverture" if office else "en dehors des heures d’ouverture"
            reason = f"Règle « {rule.name} » : catégorie {category}"
            if sector is not None:
                reason += f", quartier {sector.name}"
            reason += f", {when}"
            if rule.when == RoutingRule.When.ON_CALL:
                on_call = _on_call_agent(rule.target_service, at)
                if on_call is not None:
                    agent = on_call
                    reason += f" : agent d’astreinte {on_call.display_name}"
                else:
                    reason += " : aucune astreinte n’est inscrite à cette heure, le service reçoit le signalement"
            return Destination(rule.target_organisation, rule.target_service, agent, rule, reason + ".")
    triage = settings.triage_service
    reason = f"Aucune règle de {competent.name} ne correspond à la catégorie {category}"
    reason += f" : {'service de tri ' + triage.name if triage else 'file commune de l’organisation'}."
    return Destination(competent, triage, None, None, reason)
