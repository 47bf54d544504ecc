"""The console's map and dashboard, and the CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from beffroi.core.models import Membership
from beffroi.reports.charts import bar_chart
from beffroi.reports.models import Report
from beffroi.reports.selectors import dashboard, duration_fr, received_since
from beffroi.reports.services.agents import report_transition
from beffroi.reports.services.submission import report_submit
from beffroi.reports.tests.conftest import INSIDE
from conftest import make_staff, sign_in_with_second_factor


@pytest.fixture
def agent(territory):
    return make_staff(territory["commune"], Membership.Role.AGENT)


@pytest.fixture
def agent_client(client, agent):
    return sign_in_with_second_factor(client, agent)


@pytest.fixture
def reports(territory, agent):
    """Three reports: one acknowledged after 2 h and resolved after 6 h, one
    overdue and open, one without position; and one of another organisation."""
    commune = territory["commune"]
    now = timezone.now()
    first = report_submit(commune=commune, category=territory["pothole"], description="Trou", latitude=INSIDE[0],
                          longitude=INSIDE[1]).report
    second = report_submit(commune=commune, category=territory["pothole"], description="Autre trou",
                           address="=HYPERLINK(\"http://exemple.org\")").report
    third = report_submit(commune=commune, category=territory["graffiti"], description="Tag", address="Mairie").report
    Report.objects.filter(pk=first.pk).update(created_at=now - timedelta(hours=8))
    first.refresh_from_db()
    report_transition(actor=agent, report=first, action="acknowledge", now=now - timedelta(hours=6))
    report_transition(actor=agent, report=first, action="resolve", now=now - timedelta(hours=2))
    Report.objects.filter(pk=second.pk).update(due_at=now - timedelta(days=1))
    other = report_submit(commune=commune, category=territory["bin"], description="Bac", address="Rue B").report
    return {"resolved": first, "overdue": second, "unlocated": third, "elsewhere": other}


def test_counts_and_medians(territory, reports):
    stats = dashboard(received_since(territory["commune"], 30))
    assert stats.total == 3 and stats.open == 2 and stats.overdue == 1
    by_status = {t.key: t.count for t in stats.by_status}
    assert by_status["resolved"] == 1 and by_status["new"] == 2 and by_status["rejected"] == 0
    assert [(t.label, t.count) for t in stats.by_category] == [("Voirie › Nid-de-poule", 2), ("Propreté › Tag", 1)]
    assert {t.label: t.count for t in stats.by_sector} == {"Centre": 1, "Hors quartier ou sans position": 2}
    assert stats.to_acknowledge.among == 1 and round(stats.to_acknowledge.seconds) == 2 * 3600
    assert stats.to_resolve.among == 1 and round(stats.to_resolve.seconds) == 6 * 3600
    # Older reports are outside the period.
    Report.objects.filter(pk=reports["unlocated"].pk).update(created_at=timezone.now() - timedelta(days=40))
    assert dashboard(received_since(territory["commune"], 30)).total == 2
    assert dashboard(received_since(territory["commune"], 90)).total == 3


def test_durations_read_in_french():
    assert duration_fr(None) == "—"
    assert duration_fr(45 * 60) == "45 min"
    assert duration_fr(3 * 3600 + 5 * 60) == "3 h 05"
    assert duration_fr(2 * 86400 + 4 * 3600) == "2 j 4 h"
    assert duration_fr(3 * 86400) == "3 j"


def test_bar_chart_geometry():
    chart = bar_chart([("Nouveau", 4, "new"), ("Résolu", 2, "resolved"), ("Rejeté", 0, "rejected")])
    widths = [bar.width for bar in chart.bars]
    assert widths[0] == chart.width - 44 and widths[1] == widths[0] // 2 and widths[2] == 0
    assert chart.summary == "Diagramme en barres, en nombre de signalements. Nouveau : 4 ; Résolu : 2 ; Rejeté : 0."
    assert bar_chart([]).bars == []
    long = bar_chart([("x" * 80, 1, None)]).bars[0]
    assert len(long.short_label) == 46 and long.short_label.endswith("…") and long.label == "x" * 80


def test_the_dashboard_page(agent_client, reports):
    response = agent_client.get("/gestion/signalements/tableau-de-bord/?periode=90")
    page = response.content.decode()
    assert response.status_code == 200
    assert "90 derniers jours" in page and "<svg" in page and 'role="img"' in page
    assert "Voirie › Nid-de-poule : 2" in page  # in the text alternative
    assert "style=" not in page.split("<main", 1)[1]  # the CSP allows no inline style
    assert agent_client.get("/gestion/signalements/tableau-de-bord/?periode=7").status_code == 400


def test_the_csv_export(agent_client, reports):
    response = agent_client.get("/gestion/signalements/export.csv?periode=30")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="signalements-haisnes-')
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[0] == [
        "Code", "Catégorie", "Groupe", "Quartier", "État", "Service", "Déposé le", "Pris en compte le", "Résolu le",
        "Échéance", "En retard",
    ]
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == {reports[k].code for k in ("resolved", "overdue", "unlocated")}
    resolved = by_code[reports["resolved"].code]
    assert resolved[1:6] == ["Nid-de-poule", "Voirie", "Centre", "Résolu", "Services techniques"]
    assert resolved[7] and resolved[8] and resolved[10] == "non"
    assert by_code[reports["overdue"].code][10] == "oui"
    # Neither the author's text nor the address.
    assert "Autre trou" not in body and "HYPERLINK" not in body
    assert agent_client.get("/gestion/signalements/export.csv?periode=2").status_code == 400


def test_export_cells_are_never_formulas():
    from beffroi.reports.views.dashboard import _cell

    assert _cell("=1+1") == "'=1+1" and _cell("@SUM") == "'@SUM" and _cell("Voirie") == "Voirie" and _cell(None) == ""


def test_the_map_page_and_its_data(agent_client, territory, reports):
    page = agent_client.get("/gestion/signalements/carte/").content.decode()
    overdue, unlocated = reports["overdue"].code, reports["unlocated"].code
    assert "Signalements sans position" in page and overdue in page and unlocated in page
    assert reports["resolved"].code not in page  # open ones only, by default
    assert "Nouveau : 2" in page  # the legend, in words
    data = agent_client.get("/gestion/signalements/carte.json?etat=tous").json()["reports"]
    assert [r["code"] for r in data] == [reports["resolved"].code]  # only those with a position
    assert data[0]["status_label"] == "Résolu"
    # Another organisation's agent gets nothing of it.
    assert reports["elsewhere"].code not in page


def test_the_queue_filters(agent_client, territory, reports):
    base = "/gestion/signalements/"
    page = agent_client.get(base + f"?quartier={territory['centre'].pk}&etat=tous").content.decode()
    assert reports["resolved"].code in page and reports["overdue"].code not in page
    group = territory["graffiti"].parent_id
    page = agent_client.get(base + f"?categorie={group}").content.decode()
    assert reports["unlocated"].code in page and reports["overdue"].code not in page
    Report.objects.filter(pk=reports["unlocated"].pk).update(created_at=timezone.now() - timedelta(days=10))
    page = agent_client.get(base + "?age=plus-7").content.decode()
    assert reports["unlocated"].code in page and reports["overdue"].code not in page
    page = agent_client.get(base + "?age=7").content.decode()
    assert reports["unlocated"].code not in page and reports["overdue"].code in page
    assert agent_client.get(base + "?age=jamais").status_code == 400


def test_only_agents_and_administrators_see_them(client, territory, reports):
    sign_in_with_second_factor(client, make_staff(territory["commune"], Membership.Role.EDITOR))
    for path in ("tableau-de-bord/", "export.csv", "carte/", "carte.json"):
        assert client.get("/gestion/signalements/" + path).status_code == 403
