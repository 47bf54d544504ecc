"""The report lifecycle: the table's moves work, every other is refused, journaled, announced."""

import pytest
from django.core.exceptions import ValidationError

from beffroi.core.models import JournalEntry, Membership
from beffroi.realtime.models import Event
from beffroi.reports.lifecycle import REPORT_LIFECYCLE
from beffroi.reports.models import FollowToken, Report, ReportEntry
from beffroi.reports.selectors import follow_for_token
from beffroi.reports.services.agents import report_transfer, report_transition
from beffroi.reports.services.submission import report_submit
from conftest import make_staff

S = Report.Status
ACTIONS = sorted({a for (_s, a) in REPORT_LIFECYCLE.transitions if a != "transfer"})


@pytest.fixture
def agent(territory):
    return make_staff(territory["commune"], Membership.Role.AGENT)


def _report(territory, **kwargs):
    return report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou", address="Rue", **kwargs)


@pytest.mark.parametrize("status", S.values)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_pair_is_allowed_exactly_when_the_table_says_so(territory, agent, status, action):
    report = _report(territory).report
    original = _report(territory).report
    Report.objects.filter(pk=report.pk).update(status=status)
    report.refresh_from_db()
    expected = REPORT_LIFECYCLE.transitions.get((status, action))
    before = JournalEntry.objects.count()
    kwargs = {"text": "Motif"} if action == "reject" else {}
    if action == "mark_duplicate":
        kwargs["duplicate_of"] = original
    if expected is None:
        with pytest.raises(ValidationError, match="Action impossible"):
            report_transition(actor=agent, report=report, action=action, **kwargs)
        report.refresh_from_db()
        assert report.status == status and JournalEntry.objects.count() == before
    else:
        report = report_transition(actor=agent, report=report, action=action, **kwargs)
        assert report.status == expected
        assert JournalEntry.objects.filter(action=f"report.{action}").count() == 1
        assert Event.objects.filter(channel=f"report:{report.pk}", type="report.changed").exists()


def test_a_rejection_needs_a_reason_for_the_author(territory, agent):
    report = _report(territory).report
    with pytest.raises(ValidationError, match="Décrivez"):
        report_transition(actor=agent, report=report, action="reject")


def test_merging_a_duplicate_hands_its_followers_to_the_original(territory, agent):
    original = _report(territory).report
    duplicate = _report(territory)
    report_transition(actor=agent, report=duplicate.report, action="mark_duplicate", duplicate_of=original)
    original.refresh_from_db()
    assert original.followers == 2
    # The duplicate's author now follows the original, and reads why.
    assert follow_for_token(duplicate.token).report == original
    assert FollowToken.objects.filter(report=original).count() == 2
    assert ReportEntry.objects.filter(report=original, kind=ReportEntry.Kind.MERGE, public=True).exists()


def test_a_report_cannot_be_its_own_duplicate(territory, agent):
    report = _report(territory).report
    with pytest.raises(ValidationError):
        report_transition(actor=agent, report=report, action="mark_duplicate", duplicate_of=report)


def test_a_transfer_keeps_the_history_and_moves_the_report_away(territory, agent):
    report = _report(territory).report
    report = report_transition(actor=agent, report=report, action="acknowledge")
    report = report_transfer(actor=agent, report=report, service=territory["waste_service"], text="C’est un bac")
    assert report.organisation == territory["agglomeration"] and report.status == S.NEW
    assert [e.kind for e in report.entries.all()] == ["submitted", "status", "transfer"]
    types = list(Event.objects.filter(channel=f"reports:{territory['commune'].pk}").values_list("type", flat=True))
    assert types[-1] == "report.removed"
    assert Event.objects.filter(channel=f"reports:{territory['agglomeration'].pk}", type="report.new").exists()
    assert JournalEntry.objects.filter(action="report.transfer", organisation_id=territory["commune"].pk).exists()
