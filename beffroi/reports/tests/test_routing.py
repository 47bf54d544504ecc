"""Routing: the first matching rule wins, and every report gets exactly one destination."""

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beffroi.core.models import Sector, Service
from beffroi.reports.models import Category, OnCallShift, ReportSettings, RoutingRule
from beffroi.reports.routing import route, rule_matches
from beffroi.reports.working_days import add_working_days, is_office_time
from conftest import make_staff

MONDAY_10H = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 10:00 in Paris
MONDAY_22H = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
CHRISTMAS_10H = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)


def test_office_hours_and_public_holidays():
    hours = {"0": [["08:30", "12:00"], ["13:30", "17:30"]], "4": [["08:30", "12:00"]]}
    assert is_office_time(hours, MONDAY_10H)
    assert not is_office_time(hours, MONDAY_22H)
    assert not is_office_time(hours, MONDAY_10H + timedelta(days=1))  # Tuesday: no hours given
    assert not is_office_time(hours, CHRISTMAS_10H)  # a Friday, but a public holiday


def test_deadlines_count_working_days_only():
    # Thursday 24 December + 2 working days: Friday 25 is Christmas, then the weekend.
    assert add_working_days(datetime(2026, 12, 24, 9, 0, tzinfo=UTC), 2).date().isoformat() == "2026-12-29"
    # Friday 1 May 2026 (Labour Day) is skipped too.
    assert add_working_days(datetime(2026, 4, 30, 9, 0, tzinfo=UTC), 1).date().isoformat() == "2026-05-04"


def test_a_rule_can_target_a_named_agent_or_the_on_call_agent(territory):
    commune, technical = territory["commune"], territory["technical"]
    ReportSettings.objects.filter(organisation=commune).update(office_hours={"0": [["08:30", "17:30"]]})
    named = make_staff(commune)
    on_call = make_staff(commune)
    RoutingRule.objects.all().delete()
    RoutingRule.objects.create(organisation=commune, name="Astreinte", position=0, when=RoutingRule.When.ON_CALL,
                               target_organisation=commune, target_service=technical)
    RoutingRule.objects.create(organisation=commune, name="Nommé", position=1, target_organisation=commune,
                               target_service=technical, target_agent=named)
    OnCallShift.objects.create(service=technical, agent=on_call, starts_at=MONDAY_22H - timedelta(hours=1),
                               ends_at=MONDAY_22H + timedelta(hours=8))
    by_day = route(category=territory["pothole"], sector=None, at=MONDAY_10H)
    assert (by_day.agent, by_day.rule.name) == (named, "Nommé")
    by_night = route(category=territory["pothole"], sector=None, at=MONDAY_22H)
    assert (by_night.agent, by_night.rule.name) == (on_call, "Astreinte")
    assert "agent d’astreinte" in by_night.reason
    unstaffed = route(category=territory["pothole"], sector=None, at=MONDAY_22H + timedelta(days=2))
    assert unstaffed.agent is None and "aucune astreinte" in unstaffed.reason


@st.composite
def rule_sets(draw):
    """Up to six rules over random categories, sectors and times."""
    return draw(st.lists(
        st.tuples(
            st.sampled_from(["any", "group", "leaf", "other"]),
            st.sampled_from(["any", "centre", "other"]),
            st.sampled_from(list(RoutingRule.When.values)),
            st.booleans(),  # active
        ),
        max_size=6,
    ))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=rule_sets(), in_sector=st.booleans(), daytime=st.booleans())
def test_every_report_gets_exactly_one_destination_the_first_matching_rule(territory, specs, in_sector, daytime):
    commune = territory["commune"]
    RoutingRule.objects.filter(organisation=commune).delete()
    other_sector, _ = Sector.objects.get_or_create(organisation=commune, slug="nord", defaults={"name": "Nord", "area": territory["centre"].area})
    other_category, _ = Category.objects.get_or_create(organisation=commune, slug="autre", defaults={"name": "Autre"})
    services = [Service.objects.get_or_create(organisation=commune, slug=f"s{i}", defaults={"name": f"S{i}"})[0] for i in range(6)]
    ReportSettings.objects.filter(organisation=commune).update(office_hours={"0": [["08:00", "18:00"]]})
    leaf = territory["pothole"]
    categories = {"any": None, "group": leaf.parent, "leaf": leaf, "other": other_category}
    sectors = {"any": None, "centre": territory["centre"], "other": other_sector}
    rules = [
        RoutingRule.objects.create(
            organisation=commune, name=f"r{i}", position=i, category=categories[c], sector=sectors[s], when=w,
            is_active=active, target_organisation=commune, target_service=services[i],
        )
        for i, (c, s, w, active) in enumerate(specs)
    ]
    sector = territory["centre"] if in_sector else None
    at = MONDAY_10H if daytime else MONDAY_22H
    destination = route(category=leaf, sector=sector, at=at)

    expected = next(
        (r for r in rules if r.is_active and rule_matches(r, category=leaf, sector=sector, office=daytime)), None
    )
    assert destination.organisation == commune
    if expected is None:
        assert destination.rule is None and destination.service == territory["reception"]
    else:
        assert destination.rule == expected and destination.service == expected.target_service
    assert destination.reason
