"""« Déjà signalé ? », and Web Push to agents and followers."""

import json

import pytest

from beffroi.core.models import Membership
from beffroi.reports.models import AgentPushSubscription, Report, ReportSubscription
from beffroi.reports.services.agents import report_transition
from beffroi.reports.services.submission import report_submit
from beffroi.reports.tasks import notify_agents, push_followers
from beffroi.reports.tests.conftest import INSIDE
from conftest import make_staff, sign_in_with_second_factor
from fakes.push_service import FakePushService


def _submit(territory, lat=INSIDE[0], lon=INSIDE[1], category="pothole"):
    return report_submit(commune=territory["commune"], category=territory[category], description="Trou", latitude=lat, longitude=lon)


def test_open_reports_of_the_same_category_nearby_are_offered(client, territory):
    near = _submit(territory).report
    _submit(territory, lat=INSIDE[0] + 0.01)  # about 1.1 km away
    _submit(territory, category="graffiti")  # another category
    response = client.get("/signaler/proches/", {"categorie": territory["pothole"].pk, "lat": INSIDE[0] + 0.0005, "lon": INSIDE[1]})
    found = response.json()["reports"]
    assert [r["code"] for r in found] == [near.code]
    assert 50 <= found[0]["distance_m"] <= 60
    assert "description" not in found[0]  # the author's text is not public


@pytest.mark.parametrize("query", [{}, {"categorie": "x", "lat": "1", "lon": "2"}, {"categorie": "1", "lat": "99", "lon": "2"}])
def test_the_nearby_lookup_refuses_bad_input(client, territory, query):
    response = client.get("/signaler/proches/", query)
    assert response.status_code == 400 and response.json()["detail"]


def test_following_instead_of_filing_again(client, territory):
    report = _submit(territory).report
    response = client.post(f"/signalements/{report.code}/suivre/")
    assert response.status_code == 302 and response["Location"].startswith("/suivi/")
    report.refresh_from_db()
    assert report.followers == 2 and Report.objects.count() == 1
    # A closed report cannot be followed any more.
    Report.objects.filter(pk=report.pk).update(status=Report.Status.RESOLVED)
    assert client.post(f"/signalements/{report.code}/suivre/").status_code == 404


@pytest.fixture
def push_service(settings):
    with FakePushService() as service:
        settings.PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
        yield service


def test_agents_of_the_routed_service_get_a_push(client, territory, push_service):
    technical_agent = make_staff(territory["commune"], Membership.Role.AGENT)
    Membership.objects.filter(user=technical_agent).update(service=territory["technical"])
    other_agent = make_staff(territory["commune"], Membership.Role.AGENT)
    subscriptions = {}
    for agent in (technical_agent, other_agent):
        sign_in_with_second_factor(client, agent)
        subscription = push_service.subscribe()
        response = client.post("/gestion/signalements/notifications/", json.dumps(subscription.as_json()), content_type="application/json")
        assert response.status_code == 201
        subscriptions[agent.pk] = subscription
    assert AgentPushSubscription.objects.count() == 2
    report = _submit(territory).report
    assert notify_agents.func(report.pk)["sent"] == 1
    [delivery] = push_service.received
    assert delivery.subscription_id == subscriptions[technical_agent.pk].id
    assert json.loads(delivery.plaintext)["url"] == f"/gestion/signalements/{report.code}/"


def test_followers_who_asked_are_told_of_each_step(client, territory, push_service):
    submission = _submit(territory)
    subscription = push_service.subscribe()
    page = client.get(f"/suivi/{submission.token}/")
    csrf = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else ""
    response = client.post(
        f"/suivi/{submission.token}/notifications/", json.dumps(subscription.as_json()),
        content_type="application/json", HTTP_X_CSRFTOKEN=csrf,
    )
    assert response.status_code == 201
    assert list(ReportSubscription.objects.values_list("endpoint", flat=True)) == [subscription.endpoint]
    agent = make_staff(territory["commune"], Membership.Role.AGENT)
    report_transition(actor=agent, report=submission.report, action="acknowledge")
    assert push_followers.func(submission.report.pk, "Pris en compte : Nid-de-poule")["sent"] == 1
    assert json.loads(push_service.received[0].plaintext)["title"] == "Pris en compte : Nid-de-poule"
    bad = client.post(f"/suivi/{submission.token}/notifications/", "{pas du json", content_type="application/json")
    assert bad.status_code == 400
