"""Administrators' settings of the reports: categories, routing rules, on-call
rota and the organisation's settings; every write journaled."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from beffroi.core.models import JournalEntry, Membership, Organisation, Service
from beffroi.reports.models import Category, OnCallShift, ReportSettings, RoutingRule
from beffroi.reports.services.configuration import (
    category_question_save,
    check_office_hours,
    report_category_save,
    report_settings_update,
)
from conftest import make_staff, sign_in_with_second_factor

BASE = "/gestion/signalements/reglages/"


@pytest.fixture
def admin(territory):
    return make_staff(territory["commune"], Membership.Role.ADMINISTRATOR)


@pytest.fixture
def admin_client(client, admin):
    return sign_in_with_second_factor(client, admin)


def _local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def test_agents_may_not_change_the_settings(client, territory):
    sign_in_with_second_factor(client, make_staff(territory["commune"], Membership.Role.AGENT))
    for path in ("", "categories/", "orientation/", "astreintes/ajouter/"):
        assert client.get(BASE + path).status_code == 403


def test_categories_on_two_levels(admin_client, territory):
    roads = Category.objects.get(organisation=territory["commune"], slug="voirie")
    response = admin_client.post(BASE + "categories/ajouter/", {
        "name": "Trottoir abîmé", "parent": roads.pk, "slug": "", "deadline_days": 7, "position": 2, "is_active": "on",
    })
    assert response.status_code == 302
    created = Category.objects.get(organisation=territory["commune"], slug="trottoir-abime")
    assert created.parent == roads and created.deadline_days == 7
    assert JournalEntry.objects.filter(action="category.create", object_id=str(created.pk)).exists()
    # Three levels are refused, and so is a slug already taken.
    response = admin_client.post(BASE + "categories/ajouter/", {
        "name": "Sous-catégorie", "parent": territory["pothole"].pk, "deadline_days": 3, "position": 0,
    })
    assert response.status_code == 400  # the pothole is not among the groups offered
    response = admin_client.post(BASE + "categories/ajouter/", {"name": "Voirie", "slug": "voirie", "deadline_days": 3,
                                                                 "position": 0})
    assert response.status_code == 400 and "déjà cet identifiant" in response.content.decode()
    # A group with categories cannot move into another group.
    graffiti_group = territory["graffiti"].parent
    response = admin_client.post(BASE + f"categories/{graffiti_group.pk}/", {
        "name": graffiti_group.name, "slug": graffiti_group.slug, "parent": roads.pk, "deadline_days": 5, "position": 0,
    })
    assert response.status_code == 400 and "contient des catégories" in response.content.decode()
    listing = admin_client.get(BASE + "categories/").content.decode()
    assert "Voirie › Trottoir abîmé" in listing and "7 jours ouvrés" in listing


def test_a_category_named_by_rules_is_not_deleted(admin_client, territory):
    roads = Category.objects.get(organisation=territory["commune"], slug="voirie")
    response = admin_client.post(BASE + f"categories/{roads.pk}/supprimer/", follow=True)
    assert "Des règles d’orientation portent sur cette catégorie" in response.content.decode()
    assert Category.objects.filter(pk=roads.pk).exists()
    lonely = Category.objects.create(organisation=territory["commune"], name="Divers", slug="divers")
    admin_client.post(BASE + f"categories/{lonely.pk}/supprimer/")
    assert not Category.objects.filter(pk=lonely.pk).exists()
    assert JournalEntry.objects.filter(action="category.delete").exists()


def test_agglomeration_categories_name_their_communes(client, territory, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "agglo.testserver"]
    agglomeration = territory["agglomeration"]
    admin = make_staff(agglomeration, Membership.Role.ADMINISTRATOR)
    from beffroi.core.models import Domain

    Domain.objects.create(hostname="agglo.testserver", organisation=agglomeration)
    sign_in_with_second_factor(client, admin)
    response = client.post(BASE + "categories/ajouter/", {
        "name": "Encombrants", "slug": "encombrants", "parent": territory["bin"].parent_id, "deadline_days": 10,
        "position": 1, "competent_for": [territory["commune"].pk], "is_active": "on",
    }, HTTP_HOST="agglo.testserver")
    assert response.status_code == 302, response.content.decode()
    created = Category.objects.get(organisation=agglomeration, slug="encombrants")
    assert list(created.competent_for.all()) == [territory["commune"]]


def test_routing_rules_send_to_a_service_of_the_target(admin_client, territory):
    commune, technical = territory["commune"], territory["technical"]
    agent = make_staff(commune, Membership.Role.AGENT)
    data = {
        "name": "Nids-de-poule du centre", "position": 5, "category": territory["pothole"].pk,
        "sector": territory["centre"].pk, "when": "always", "target_organisation": commune.pk,
        "target_service": technical.pk, "target_agent": agent.pk, "is_active": "on",
    }
    assert admin_client.post(BASE + "orientation/ajouter/", data).status_code == 302
    rule = RoutingRule.objects.get(name="Nids-de-poule du centre")
    assert rule.organisation == commune and rule.target_agent == agent
    assert JournalEntry.objects.filter(action="routingrule.create").exists()
    # A service of another organisation, or someone who is not a member, is refused.
    ccas = Organisation.objects.create(kind=Organisation.Kind.CCAS, name="CCAS", slug="ccas", parent=commune)
    ccas_service = Service.objects.create(organisation=ccas, name="Aide sociale", slug="aide")
    response = admin_client.post(BASE + f"orientation/{rule.pk}/", {**data, "target_service": ccas_service.pk})
    assert response.status_code == 400 and "n’appartient pas à l’organisation destinataire" in response.content.decode()
    response = admin_client.post(BASE + f"orientation/{rule.pk}/", {
        **data, "target_organisation": ccas.pk, "target_service": ccas_service.pk,
    })
    assert response.status_code == 400 and "pas membre de l’organisation destinataire" in response.content.decode()
    response = admin_client.post(BASE + f"orientation/{rule.pk}/", {
        **data, "target_organisation": ccas.pk, "target_service": ccas_service.pk, "target_agent": "",
    })
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.target_organisation == ccas and rule.target_agent is None


def test_on_call_shifts_do_not_overlap(admin_client, territory):
    commune, technical = territory["commune"], territory["technical"]
    agent = make_staff(commune, Membership.Role.AGENT)
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=1)
    data = {"service": technical.pk, "agent": agent.pk, "starts_at": _local(start),
            "ends_at": _local(start + timedelta(hours=15))}
    assert admin_client.post(BASE + "astreintes/ajouter/", data).status_code == 302
    shift = OnCallShift.objects.get(service=technical)
    assert shift.ends_at - shift.starts_at == timedelta(hours=15)
    overlapping = {**data, "starts_at": _local(start + timedelta(hours=14))}
    response = admin_client.post(BASE + "astreintes/ajouter/", overlapping)
    assert response.status_code == 400 and "déjà une astreinte" in response.content.decode()
    backwards = {**data, "starts_at": _local(start + timedelta(days=3)), "ends_at": _local(start + timedelta(days=2))}
    response = admin_client.post(BASE + "astreintes/ajouter/", backwards)
    assert response.status_code == 400 and "doit suivre son début" in response.content.decode()
    # Editing a shift does not collide with itself; an outsider is refused.
    assert admin_client.post(BASE + f"astreintes/{shift.pk}/", data).status_code == 302
    outsider = make_staff(territory["agglomeration"], Membership.Role.AGENT)
    response = admin_client.post(BASE + f"astreintes/{shift.pk}/", {**data, "agent": outsider.pk})
    assert response.status_code == 400
    # Past shifts are listed on demand only.
    OnCallShift.objects.create(service=technical, agent=agent, starts_at=start - timedelta(days=5),
                               ends_at=start - timedelta(days=4))
    assert admin_client.get(BASE + "astreintes/").content.decode().count("Modifier<span") == 1
    assert admin_client.get(BASE + "astreintes/?passees=1").content.decode().count("Modifier<span") == 2


def test_settings_and_office_hours(admin_client, territory):
    commune = territory["commune"]
    page = admin_client.get(BASE)
    assert page.status_code == 200 and "Heures d’ouverture" in page.content.decode()
    data = {"triage_service": territory["technical"].pk, "escalation_minutes": 30, "retention_days": 90,
            "h0_1_start": "08:30", "h0_1_end": "12:00", "h0_2_start": "13:30", "h0_2_end": "17:00",
            "h5_1_start": "09:00", "h5_1_end": "12:00"}
    assert admin_client.post(BASE, data).status_code == 302
    config = ReportSettings.objects.get(organisation=commune)
    assert config.office_hours == {"0": [["08:30", "12:00"], ["13:30", "17:00"]], "5": [["09:00", "12:00"]]}
    assert config.escalation_minutes == 30 and config.triage_service == territory["technical"]
    entry = JournalEntry.objects.get(action="reportsettings.update")
    assert entry.data["changed"] == ["escalation_minutes", "office_hours", "retention_days", "triage_service"]
    for wrong, message in [
        ({"h1_1_start": "12:00", "h1_1_end": "08:00"}, "doit suivre l’ouverture"),
        ({"h1_1_start": "08:00", "h1_1_end": "12:00", "h1_2_start": "11:00", "h1_2_end": "14:00"}, "se chevauchent"),
        ({"h1_1_start": "08:00"}, "ou aucune des deux"),
    ]:
        response = admin_client.post(BASE, {**data, **wrong})
        assert response.status_code == 400 and message in response.content.decode(), wrong
    assert ReportSettings.objects.get(organisation=commune).office_hours == config.office_hours


def test_the_services_refuse_what_the_forms_refuse(territory):
    with pytest.raises(ValidationError):
        check_office_hours({"0": [["08:00", "09:00"], ["10:00", "11:00"], ["12:00", "13:00"]]})
    assert check_office_hours({"2": [["14:00", "17:00"], ["08:00", "12:00"]]}) == {
        "2": [["08:00", "12:00"], ["14:00", "17:00"]]
    }
    other = Service.objects.create(organisation=territory["agglomeration"], name="Ailleurs", slug="ailleurs")
    admin = make_staff(territory["commune"], Membership.Role.ADMINISTRATOR)
    with pytest.raises(ValidationError):
        report_settings_update(actor=admin, organisation=territory["commune"], triage_service=other, office_hours={},
                               escalation_minutes=60, retention_days=180)


def test_the_services_take_plain_values(territory):
    """No form needed: the same checks, the same journal, from code."""
    commune, admin = territory["commune"], make_staff(territory["commune"], Membership.Role.ADMINISTRATOR)
    roads = Category.objects.get(organisation=commune, slug="voirie")
    fields = {"name": "Trottoir", "parent": roads, "slug": "trottoir", "description": "", "deadline_days": 4,
              "position": 1, "is_active": True}
    created = report_category_save(actor=admin, organisation=commune, fields=fields)
    assert created.organisation == commune and created.parent == roads
    entry = JournalEntry.objects.get(action="category.create", object_id=str(created.pk))
    assert "deadline_days" in entry.data["changed"]
    updated = report_category_save(actor=admin, organisation=commune, instance=created, fields={**fields, "deadline_days": 6})
    assert updated.deadline_days == 6
    assert JournalEntry.objects.get(action="category.update").data["changed"] == ["deadline_days"]
    # Refused as the form refuses it: a third level, a bad value; nothing written.
    with pytest.raises(ValidationError, match="deux niveaux"):
        report_category_save(actor=admin, organisation=commune, fields={**fields, "slug": "x", "parent": created})
    with pytest.raises(ValidationError):
        report_category_save(actor=admin, organisation=commune, instance=created, fields={**fields, "deadline_days": 0})
    created.refresh_from_db()
    assert created.deadline_days == 6
    # Another organisation's object cannot be edited through this one.
    theirs = Category.objects.get(organisation=territory["agglomeration"], slug="dechets")
    with pytest.raises(ValidationError, match="n’appartient pas"):
        report_category_save(actor=admin, organisation=commune, instance=theirs, fields={"name": "Pris"})
    with pytest.raises(TypeError):
        report_category_save(actor=admin, organisation=commune, fields={"organisation": territory["agglomeration"]})
    question = category_question_save(actor=admin, organisation=commune, fields={
        "category": territory["pothole"], "label": "Profondeur ?", "code": "profondeur", "help_text": "",
        "kind": "singlevaluelist", "options": [["peu", "peu profond"], ["tres", "très profond"]], "required": True,
        "position": 1,
    })
    assert question.options == [["peu", "peu profond"], ["tres", "très profond"]]
