"""The agents' console: only the receiving organisation sees a report."""

import pytest
from django.core import mail

from beffroi.core.models import JournalEntry, Membership
from beffroi.reports.models import Report, ReportEntry
from beffroi.reports.services.escalation import escalate_if_unacknowledged
from beffroi.reports.services.submission import report_submit
from conftest import make_staff, sign_in_with_second_factor


@pytest.fixture
def report(territory):
    return report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou profond", address="Rue A").report


@pytest.fixture
def agent_client(client, territory):
    return sign_in_with_second_factor(client, make_staff(territory["commune"], Membership.Role.AGENT))


def test_the_queue_and_the_report_show_to_the_receiving_organisation(agent_client, report):
    queue = agent_client.get("/gestion/signalements/")
    assert queue.status_code == 200 and report.code in queue.content.decode()
    detail = agent_client.get(f"/gestion/signalements/{report.code}/")
    assert detail.status_code == 200
    assert "Trou profond" in detail.content.decode() and "Règle « Voirie »" in detail.content.decode()


def test_other_organisations_and_roles_see_nothing(client, territory, report):
    waste_agent = make_staff(territory["agglomeration"], Membership.Role.AGENT)
    sign_in_with_second_factor(client, waste_agent)
    # On the commune's host the agglomeration's agent has no role at all...
    assert client.get(f"/gestion/signalements/{report.code}/").status_code == 403
    editor = make_staff(territory["commune"], Membership.Role.EDITOR)
    sign_in_with_second_factor(client, editor)
    # ...and an editor of the commune has no role for reports.
    assert client.get("/gestion/signalements/").status_code == 403


def test_an_agent_acknowledges_replies_and_resolves(agent_client, report):
    base = f"/gestion/signalements/{report.code}"
    agent_client.post(f"{base}/etat/acknowledge/", {"text": ""})
    agent_client.post(f"{base}/message/", {"kind": "reply", "text": "Nous intervenons jeudi."})
    agent_client.post(f"{base}/message/", {"kind": "note", "text": "Prévoir du bitume."})
    agent_client.post(f"{base}/etat/resolve/", {"text": "Trou rebouché."})
    report.refresh_from_db()
    assert report.status == Report.Status.RESOLVED and report.acknowledged_at and report.resolved_at
    kinds = [(e.kind, e.public) for e in report.entries.all()]
    assert ("note", False) in kinds and ("reply", True) in kinds
    assert JournalEntry.objects.filter(action__startswith="report.").count() == 4


def test_refused_actions_change_nothing(agent_client, report):
    response = agent_client.post(f"/gestion/signalements/{report.code}/etat/reopen/", {"text": ""}, follow=True)
    assert "Action impossible" in response.content.decode()
    response = agent_client.post(f"/gestion/signalements/{report.code}/message/", {"kind": "reply", "text": ""}, follow=True)
    assert "obligatoire" in response.content.decode()
    report.refresh_from_db()
    assert report.status == Report.Status.NEW and report.entries.count() == 1


def test_an_unacknowledged_report_is_escalated_once(territory, report, django_capture_on_commit_callbacks):
    head = make_staff(territory["commune"], Membership.Role.AGENT)
    territory["technical"].head = head
    territory["technical"].save()
    assert escalate_if_unacknowledged(report_id=report.pk) is True
    assert escalate_if_unacknowledged(report_id=report.pk) is False
    entry = ReportEntry.objects.get(report=report, kind=ReportEntry.Kind.ESCALATION)
    assert head.display_name in entry.text and not entry.public
    report.refresh_from_db()
    assert report.assignee == head
    from beffroi.reports.tasks import send_escalation_email

    assert send_escalation_email.func(report.pk) == 1
    assert sorted(mail.outbox[0].to) == sorted(["tech@example.org", head.email])


def test_an_acknowledged_report_is_not_escalated(agent_client, report):
    agent_client.post(f"/gestion/signalements/{report.code}/etat/acknowledge/", {"text": ""})
    assert escalate_if_unacknowledged(report_id=report.pk) is False


def test_closed_reports_lose_their_photos_and_texts_after_the_retention(
    territory, report, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.core.files.storage import storages
    from django.utils import timezone

    from beffroi.core.images import sanitize_image
    from beffroi.reports.models import ReportSettings
    from beffroi.reports.services.agents import report_agent_photo, report_transition
    from beffroi.reports.services.retention import purge_closed_reports
    from beffroi.reports.tests.test_follow import _jpeg

    agent = make_staff(territory["commune"], Membership.Role.AGENT)
    photo = report_agent_photo(actor=agent, report=report, image=sanitize_image(_jpeg()))
    report_transition(actor=agent, report=report, action="resolve", text="Réparé")
    ReportSettings.objects.filter(organisation=territory["commune"]).update(retention_days=30)
    assert purge_closed_reports(now=timezone.now() + timedelta(days=29)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert purge_closed_reports(now=timezone.now() + timedelta(days=31)) == 1
    report.refresh_from_db()
    assert report.purged_at and report.description == "" and report.address == ""
    assert not report.entries.exclude(text="").exists()
    assert not report.photos.exists()
    assert not storages["private"].exists(photo.image)
    assert purge_closed_reports(now=timezone.now() + timedelta(days=40)) == 0
