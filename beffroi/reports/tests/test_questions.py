"""Questions of a category (Open311 attributes): asked in the web form and in
the service definitions, checked wherever the answer comes from, stored as
asked, purged with the free texts."""

import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from beffroi.core.models import JournalEntry, Membership
from beffroi.reports.models import CategoryQuestion, Report
from beffroi.reports.open311.clients import open311_client_create
from beffroi.reports.questions import AnswerError, check_options, clean_answers
from beffroi.reports.services.agents import report_transition
from beffroi.reports.services.retention import purge_closed_reports
from beffroi.reports.services.submission import report_submit
from beffroi.reports.tests.conftest import INSIDE
from conftest import make_staff, sign_in_with_second_factor

Kind = CategoryQuestion.Kind
API = "/open311/v2/"


@pytest.fixture
def questions(territory):
    """The pothole asks its depth (a number, required), its kind (one choice),
    what it threatens (several choices), when it appeared and a remark."""
    pothole = territory["pothole"]
    make = CategoryQuestion.objects.create
    return {
        "depth": make(category=pothole, code="profondeur", label="Profondeur en centimètres", kind=Kind.NUMBER,
                      required=True, position=1),
        "where": make(category=pothole, code="ou", label="Où est-il ?", kind=Kind.CHOICE, position=2,
                      options=[["chaussee", "sur la chaussée"], ["trottoir", "sur le trottoir"]]),
        "risk": make(category=pothole, code="risque", label="Qui est gêné ?", kind=Kind.CHOICES, position=3,
                     options=[["pietons", "les piétons"], ["velos", "les vélos"], ["voitures", "les voitures"]]),
        "since": make(category=pothole, code="depuis", label="Depuis quand ?", kind=Kind.DATETIME, position=4),
        "remark": make(category=pothole, code="remarque", label="Remarque", kind=Kind.TEXT, position=5),
    }


def test_answers_are_checked_by_kind(territory, questions):
    pothole = territory["pothole"]
    answers = clean_answers(pothole, {
        "profondeur": ["12,5"], "ou": ["trottoir"], "risque": ["velos", "pietons", "velos"],
        "depuis": ["2026-11-02T08:15"], "remarque": ["  Très profond  "], "fixmystreet_id": ["42"],
    })
    by_code = {a["code"]: a for a in answers}
    assert list(by_code) == ["profondeur", "ou", "risque", "depuis", "remarque"]  # unknown codes are not kept
    assert by_code["profondeur"]["value"] == "12.5" and by_code["profondeur"]["text"] == "12,5"
    assert by_code["ou"] == {"code": "ou", "question": "Où est-il ?", "kind": "singlevaluelist", "value": "trottoir",
                             "text": "sur le trottoir"}
    assert by_code["risque"]["value"] == ["velos", "pietons"] and by_code["risque"]["text"] == "les vélos, les piétons"
    assert by_code["depuis"]["value"] == "2026-11-02T08:15+01:00" and by_code["depuis"]["text"] == "02/11/2026 à 08:15"
    assert by_code["remarque"]["text"] == "Très profond"

    bad = {
        "profondeur": (["beaucoup"], "Indiquez un nombre"),
        "ou": (["ailleurs"], "Choix inconnu : « ailleurs »"),
        "depuis": (["hier"], "Date illisible"),
        "remarque": (["x" * 501], "500 caractères au plus"),
    }
    for code, (values, message) in bad.items():
        with pytest.raises(AnswerError) as caught:
            clean_answers(pothole, {"profondeur": ["3"], code: values})
        assert message in caught.value.message_dict[code][0]
    with pytest.raises(AnswerError) as caught:
        clean_answers(pothole, {"ou": ["chaussee", "trottoir"]})
    assert caught.value.message_dict == {"profondeur": ["Réponse obligatoire."], "ou": ["Une seule réponse est attendue."]}
    for value in ("nan", "inf", "1e12"):
        with pytest.raises(AnswerError):
            clean_answers(pothole, {"profondeur": [value]})


def test_choices_are_written_one_per_line():
    assert check_options(Kind.CHOICE, "eteint : Il est éteint\n\nClignotant\n") == [
        ["eteint", "Il est éteint"], ["clignotant", "Clignotant"],
    ]
    for lines, message in [("Seul", "au moins deux"), ("a : Un\na : Deux", "même clé"), (" : Vide\nb : B", "illisible")]:
        with pytest.raises(ValidationError, match=message):
            check_options(Kind.CHOICES, lines)
    with pytest.raises(ValidationError, match="Seules les questions à choix"):
        check_options(Kind.STRING, "a : A\nb : B")


def _form(territory, **fields):
    return {"category": territory["pothole"].pk, "description": "Trou profond", "address": "Rue Jean Jaurès", **fields}


def test_the_web_form_asks_the_chosen_categorys_questions(client, territory, questions):
    page = client.get("/signaler/").content.decode()
    assert "Précisions sur « Nid-de-poule »" in page
    assert f'name="q-{territory["pothole"].pk}-profondeur"' in page and 'type="datetime-local"' in page
    prefix = f"q-{territory['pothole'].pk}-"

    # A required answer missing: 400, the question named, nothing stored.
    response = client.post("/signaler/", _form(territory, **{prefix + "ou": "chaussee"}))
    assert response.status_code == 400
    assert "Profondeur en centimètres</a> : Réponse obligatoire." in response.content.decode()
    response = client.post("/signaler/", _form(territory, **{prefix + "profondeur": "5", prefix + "ou": "nulle-part"}))
    assert response.status_code == 400 and "Sélectionnez un choix valide" in response.content.decode()
    assert not Report.objects.exists()

    # Another category's questions are not asked of it.
    graffiti = {"category": territory["graffiti"].pk, "description": "Tag", "address": "Mairie"}
    assert client.post("/signaler/", {**graffiti, prefix + "profondeur": "pas un nombre"}).status_code == 302
    assert Report.objects.get().answers == []

    response = client.post("/signaler/", _form(territory, **{
        prefix + "profondeur": "8", prefix + "risque": ["pietons", "velos"], prefix + "remarque": "Près de l’école",
    }))
    assert response.status_code == 302
    report = Report.objects.get(category=territory["pothole"])
    assert [(a["code"], a["text"]) for a in report.answers] == [
        ("profondeur", "8"), ("risque", "les piétons, les vélos"), ("remarque", "Près de l’école"),
    ]
    follow_page = client.get(response["Location"]).content.decode()
    assert "<dt>Qui est gêné ?</dt><dd>les piétons, les vélos</dd>" in follow_page

    agent = sign_in_with_second_factor(client, make_staff(territory["commune"], Membership.Role.AGENT))
    console = agent.get(f"/gestion/signalements/{report.code}/").content.decode()
    assert "<dt>Profondeur en centimètres</dt><dd>8</dd>" in console


def test_answers_keep_their_wording_and_free_texts_are_purged(territory, questions, commune):
    agent = make_staff(commune, Membership.Role.AGENT)
    report = report_submit(
        commune=commune, category=territory["pothole"], description="Trou", latitude=INSIDE[0], longitude=INSIDE[1],
        answers={"profondeur": ["4"], "ou": ["chaussee"], "remarque": ["Devant chez Mme Témoin"]},
    ).report
    questions["where"].label = "Emplacement"
    questions["where"].save()
    report.refresh_from_db()
    assert report.answers[1]["question"] == "Où est-il ?"  # as it was asked
    report_transition(actor=agent, report=report, action="reject", text="Hors compétence.")
    assert purge_closed_reports(now=timezone.now() + timedelta(days=400)) == 1
    report.refresh_from_db()
    assert [a["code"] for a in report.answers] == ["profondeur", "ou"]  # the free text is gone
    assert "Témoin" not in json.dumps(report.answers)


# --- Open311 ---------------------------------------------------------------------------------


def test_service_definitions_list_the_attributes_in_both_formats(client, territory, questions):
    code = territory["pothole"].pk
    services = json.loads(client.get(API + "services.json").content)
    metadata = {s["service_code"]: s["metadata"] for s in services}
    assert metadata[str(code)] is True and metadata[str(territory["graffiti"].pk)] is False

    definition = json.loads(client.get(f"{API}services/{code}.json").content)
    assert definition["service_code"] == str(code)
    attributes = definition["attributes"]
    assert [a["code"] for a in attributes] == ["profondeur", "ou", "risque", "depuis", "remarque"]
    assert attributes[0] == {
        "variable": True, "code": "profondeur", "datatype": "number", "required": True,
        "datatype_description": "Nombre décimal, par exemple 3 ou 2.5.", "order": 1,
        "description": "Profondeur en centimètres", "values": None,
    }
    assert attributes[2]["datatype"] == "multivaluelist" and attributes[2]["values"][1] == {"key": "velos",
                                                                                          "name": "les vélos"}

    tree = ET.fromstring(client.get(f"{API}services/{code}.xml").content)  # noqa: S314 (our own server's answer)
    xml_attributes = tree.find("attributes").findall("attribute")
    assert [a.findtext("code") for a in xml_attributes] == [a["code"] for a in attributes]
    first = xml_attributes[0]
    assert [child.tag for child in first] == [
        "variable", "code", "datatype", "required", "datatype_description", "order", "description", "values",
    ]
    assert first.findtext("variable") == "true" and first.findtext("required") == "true"
    values = xml_attributes[1].find("values").findall("value")
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [
        ("chaussee", "sur la chaussée"), ("trottoir", "sur le trottoir"),
    ]


@pytest.mark.parametrize("fmt", ["xml", "json"])
def test_open311_filings_carry_checked_attributes(client, territory, questions, fmt):
    key = open311_client_create(organisation=territory["commune"], name="Application")[1]
    base = {
        "api_key": key, "service_code": str(territory["pothole"].pk), "lat": str(INSIDE[0]), "long": str(INSIDE[1]),
        "description": "Nid-de-poule", "attribute[fixmystreet_id]": "1234",
    }

    def post(**fields):
        return client.post(f"{API}requests.{fmt}", urlencode({**base, **fields}, doseq=True),
                           content_type="application/x-www-form-urlencoded")

    refused = [
        ({"attribute[ou]": "chaussee"}, "attribute[profondeur] : Réponse obligatoire."),
        ({"attribute[profondeur]": "beaucoup"}, "attribute[profondeur] : Indiquez un nombre"),
        ({"attribute[profondeur]": "3", "attribute[risque][]": ["velos", "tracteurs"]}, "Choix inconnu : « tracteurs »"),
        ({"attribute[profondeur]": "3", "attribute[ou": "x"}, "Paramètre illisible"),
    ]
    for fields, message in refused:
        response = post(**fields)
        assert response.status_code == 400 and message in response.content.decode(), response.content
    assert not Report.objects.exists()

    response = post(**{"attribute[profondeur]": "3", "attribute[risque][]": ["velos", "voitures"],
                       "attribute[ou]": "trottoir"})
    assert response.status_code == 200, response.content
    report = Report.objects.get()
    assert {a["code"]: a["value"] for a in report.answers} == {
        "profondeur": "3", "ou": "trottoir", "risque": ["velos", "voitures"],
    }
    assert "1234" not in json.dumps(report.answers)


# --- Back office ---------------------------------------------------------------------------------


def test_administrators_write_the_questions(client, territory):
    admin = sign_in_with_second_factor(client, make_staff(territory["commune"], Membership.Role.ADMINISTRATOR))
    base = "/gestion/signalements/reglages/questions/"
    form = {"category": territory["pothole"].pk, "label": "Où est-il ?", "code": "", "kind": Kind.CHOICE,
            "options_text": "chaussee : sur la chaussée\nsur le trottoir", "position": 1, "required": "on"}
    assert admin.post(base + "ajouter/", form).status_code == 302
    question = CategoryQuestion.objects.get()
    assert question.code == "ou-est-il" and question.options == [["chaussee", "sur la chaussée"],
                                                                  ["sur-le-trottoir", "sur le trottoir"]]
    assert JournalEntry.objects.filter(action="categoryquestion.create", object_id=str(question.pk)).exists()
    assert "chaussee : sur la chaussée" in admin.get(f"{base}{question.pk}/").content.decode()

    # Refused: one choice only, choices on a text question, a group, another organisation's category, a taken code.
    for changes, message in [
        ({"options_text": "seul"}, "au moins deux choix"),
        ({"kind": Kind.STRING}, "Seules les questions à choix"),
        ({"category": territory["pothole"].parent.pk}, "Sélectionnez un choix valide"),
        ({"category": territory["bin"].pk}, "Sélectionnez un choix valide"),
        ({"code": "ou-est-il"}, "déjà une question avec cet identifiant"),
    ]:
        response = admin.post(base + "ajouter/", {**form, **changes})
        assert response.status_code == 400 and message in response.content.decode(), changes
    assert CategoryQuestion.objects.count() == 1
    assert admin.post(f"{base}{question.pk}/supprimer/").status_code == 302
    assert not CategoryQuestion.objects.exists()
    assert JournalEntry.objects.filter(action="categoryquestion.delete").exists()
