"""Open311 GeoReport v2, in XML and JSON, checked against the spec (wiki.open311.org/GeoReport_v2).

Every endpoint is read in both formats: the XML is parsed with ElementTree and
its element names and order compared with the spec's; the JSON must say the
same thing (the spec's mapping of the XML: lists become arrays, empty elements
null). Filing goes through report_submit, so a report filed by an Open311
client reaches the agents' consoles like one from the web form; the personal
fields the spec allows are accepted and found nowhere in the database.
"""

import hashlib
import io
import json
import socket
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tasks_db.models import DBTaskResult

from beffroi.core.models import JournalEntry, Organisation
from beffroi.realtime.models import Event
from beffroi.reports.lifecycle import CLOSED
from beffroi.reports.models import Category, Open311Client, Report, ReportEntry, ReportPhoto
from beffroi.reports.open311.clients import open311_client_create
from beffroi.reports.open311.views import IGNORED_FIELDS
from beffroi.reports.services.submission import report_submit
from beffroi.reports.tests.conftest import INSIDE

API = "/open311/v2/"
FORMATS = ["xml", "json"]
FORM = "application/x-www-form-urlencoded; charset=utf-8"

SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
DEFINITION_FIELDS = ["service_code", "attributes"]
FILED_FIELDS = ["service_request_id", "service_notice", "account_id"]
REQUEST_FIELDS = [
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
]
ERROR_FIELDS = ["code", "description"]


# --- Reading both formats ---------------------------------------------------------------


def _xml(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)  # noqa: S314 (our own server's answer)


def _json(response):
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content)


def _as_text(value):
    """A JSON value as the XML element carries it (empty element: None)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _flat(element: ET.Element, fields: list[str]) -> dict:
    """An element whose children are the spec's fields, in the spec's order."""
    assert [child.tag for child in element] == fields
    return {child.tag: child.text for child in element}


def records(response, fmt: str, root: str, item: str, fields: list[str]) -> list[dict]:
    """The items of a list document, each as {field: text}, after checking the shape."""
    if fmt == "xml":
        tree = _xml(response)
        assert tree.tag == root
        assert all(element.tag == item for element in tree)
        return [_flat(element, fields) for element in tree]
    data = _json(response)
    assert isinstance(data, list)
    for entry in data:
        assert list(entry) == fields
    return [{key: _as_text(value) for key, value in entry.items()} for entry in data]


def assert_error(response, fmt: str, status: int, *fragments: str) -> list[str]:
    """The spec's error document, with the HTTP status as each error's code."""
    assert response.status_code == status, response.content
    errors = records(response, fmt, "errors", "error", ERROR_FIELDS)
    assert errors
    assert all(error["code"] == str(status) for error in errors)
    text = " ".join(error["description"] for error in errors)
    for fragment in fragments:
        assert fragment in text
    return [error["description"] for error in errors]


def read_both(client, path: str, root: str, item: str, fields: list[str], **params) -> list[dict]:
    """GET in XML and in JSON: both must say the same thing."""
    query = f"?{urlencode(params)}" if params else ""
    xml_response = client.get(f"{API}{path}.xml{query}")
    json_response = client.get(f"{API}{path}.json{query}")
    assert xml_response.status_code == json_response.status_code == 200, xml_response.content
    from_xml = records(xml_response, "xml", root, item, fields)
    assert from_xml == records(json_response, "json", root, item, fields)
    return from_xml


# --- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def api_key(territory):
    return open311_client_create(organisation=territory["commune"], name="FixMyStreet")[1]


def post(client, fmt, data, **extra):
    return client.post(f"{API}requests.{fmt}", urlencode(data, doseq=True), content_type=FORM, **extra)


def filing(territory, key, **fields):
    data = {
        "api_key": key, "jurisdiction_id": "testserver", "service_code": str(territory["pothole"].pk),
        "lat": str(INSIDE[0]), "long": str(INSIDE[1]), "description": "Nid-de-poule profond devant l’école",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def _move(report, status, *, text="", public_text=None):
    """What the agents' services leave behind (they are tested in test_lifecycle and test_console):
    a new state, its time, a timeline entry addressed to the author."""
    now = timezone.now()
    changes = {"status": status, "closed_at": now if status in CLOSED else None}
    if status == Report.Status.RESOLVED:
        changes["resolved_at"] = now
    if public_text is not None:
        changes["public_text"] = public_text
    Report.objects.filter(pk=report.pk).update(**changes)
    ReportEntry.objects.create(report=report, kind=ReportEntry.Kind.STATUS, public=True, text=text,
                               from_status=report.status, to_status=status)
    report.refresh_from_db()


def _report(territory, category="pothole", **kwargs):
    kwargs.setdefault("address", "12 rue Jean Jaurès, chez Mme Témoin")
    return report_submit(commune=territory["commune"], category=territory[category], description="Texte secret de l’auteur",
                         **kwargs).report


# --- Services ---------------------------------------------------------------------------------


def test_the_service_list_is_the_communes_leaf_categories_in_both_formats(client, territory):
    other = Organisation.objects.create(kind=Organisation.Kind.COMMUNE, name="Douvrin", slug="douvrin")
    Category.objects.create(organisation=other, name="Ailleurs", slug="ailleurs")
    elsewhere = Category.objects.create(organisation=territory["agglomeration"], name="Ailleurs aussi", slug="ailleurs")
    elsewhere.competent_for.add(other)
    Category.objects.create(organisation=territory["commune"], name="Inactive", slug="inactive", is_active=False)
    territory["pothole"].description = "Trou dans la chaussée <dangereux> & profond\x01"
    territory["pothole"].save()

    services = read_both(client, "services", "services", "service", SERVICE_FIELDS)

    by_code = {s["service_code"]: s for s in services}
    leaves = [territory["pothole"], territory["graffiti"], territory["bin"]]
    assert set(by_code) == {str(c.pk) for c in leaves}
    pothole = by_code[str(territory["pothole"].pk)]
    assert pothole == {
        "service_code": str(territory["pothole"].pk), "service_name": "Nid-de-poule",
        "description": "Trou dans la chaussée <dangereux> & profond", "metadata": "false", "type": "realtime",
        "keywords": None, "group": "Voirie",
    }
    assert by_code[str(territory["bin"].pk)]["group"] == "Déchets"  # the agglomeration's, competent here


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_category_without_questions_has_no_attributes(client, territory, fmt):
    response = client.get(f"{API}services/{territory['pothole'].pk}.{fmt}")
    assert response.status_code == 200
    if fmt == "xml":
        tree = _xml(response)
        assert tree.tag == "service_definition"
        assert [child.tag for child in tree] == DEFINITION_FIELDS
        assert tree.find("service_code").text == str(territory["pothole"].pk)
        assert list(tree.find("attributes")) == []
    else:
        assert _json(response) == {"service_code": str(territory["pothole"].pk), "attributes": []}


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_services_are_404(client, territory, fmt):
    other = Organisation.objects.create(kind=Organisation.Kind.COMMUNE, name="Douvrin", slug="douvrin")
    foreign = Category.objects.create(organisation=other, name="Ailleurs", slug="ailleurs")
    group = territory["pothole"].parent
    for code in [foreign.pk, group.pk, "abc", "9" * 40, "-1", "%00", "1%2C2"]:
        assert_error(client.get(f"{API}services/{code}.{fmt}"), fmt, 404, "service_code inconnu")


# --- Filing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_filed_request_reaches_the_consoles_like_a_web_report(client, territory, api_key, fmt):
    response = post(client, fmt, filing(territory, api_key))

    assert response.status_code == 200, response.content
    report = Report.objects.get()
    if fmt == "xml":
        tree = _xml(response)
        assert tree.tag == "service_requests" and [e.tag for e in tree] == ["request"]
        answer = _flat(tree[0], FILED_FIELDS)
    else:
        data = _json(response)
        assert len(data) == 1 and list(data[0]) == FILED_FIELDS
        answer = data[0]
    assert answer["service_request_id"] == report.code
    assert answer["account_id"] is None
    assert "Services techniques" in answer["service_notice"] and "jamais publiée" in answer["service_notice"]
    # Routed like any report, announced on the receiving organisation's channel, tasks queued.
    assert report.service == territory["technical"] and report.sector == territory["centre"]
    assert report.description == "Nid-de-poule profond devant l’école"
    event = Event.objects.get(channel=f"reports:{territory['commune'].pk}", type="report.new")
    assert event.data["report"]["code"] == report.code
    assert set(DBTaskResult.objects.values_list("task_path", flat=True)) == {
        "beffroi.reports.tasks.notify_agents", "beffroi.reports.tasks.escalate_if_unacknowledged",
    }
    # The follow-up token is for people: it is not given to the client.
    assert b"token" not in response.content and b"/suivi/" not in response.content


def test_an_agglomeration_service_goes_to_the_agglomeration(client, territory, api_key):
    response = post(client, "json", filing(territory, api_key, service_code=str(territory["bin"].pk), lat=None,
                                           long=None, address_string="Devant le 3 rue Basly"))
    assert response.status_code == 200
    report = Report.objects.get()
    assert report.organisation == territory["agglomeration"] and report.address == "Devant le 3 rue Basly"
    assert Event.objects.filter(channel=f"reports:{territory['agglomeration'].pk}", type="report.new").exists()
    assert not Event.objects.filter(channel=f"reports:{territory['commune'].pk}").exists()


def test_personal_fields_are_accepted_and_stored_nowhere(client, territory, api_key, monkeypatch):
    resolved = []
    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: resolved.append(host) or real_getaddrinfo(host, *a, **k))
    personal = {
        "email": "temoin.personnel@example.net", "first_name": "Prenomtemoin", "last_name": "Nomtemoin",
        "phone": "0612345678", "device_id": "appareil-temoin-42", "account_id": "compte-temoin-7",
        "media_url": "https://photos-temoin.example.net/trou.jpg", "attribute[WHISPAWN]": "attribut-temoin",
    }
    assert set(IGNORED_FIELDS) <= set(personal)
    response = post(client, "xml", filing(territory, api_key, **personal))
    assert response.status_code == 200

    stored = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            stored.extend(str(row) for row in cursor.fetchall())
    everything = "\n".join(stored)
    assert Report.objects.count() == 1
    for value in personal.values():
        assert value not in everything, f"{value!r} was stored"
    assert "photos-temoin.example.net" not in resolved  # media_url is never fetched
    assert "media_url n’est pas pris en compte" in ET.fromstring(response.content).find("request/service_notice").text  # noqa: S314
    assert not ReportPhoto.objects.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_api_keys_are_checked(client, territory, api_key, other_commune, fmt):
    foreign_key = open311_client_create(organisation=other_commune, name="Autre")[1]
    inactive_client, inactive_key = open311_client_create(organisation=territory["commune"], name="Ancien")
    inactive_client.is_active = False
    inactive_client.save()

    assert_error(post(client, fmt, filing(territory, None)), fmt, 403, "api_key manquante")
    for key in ["mauvaise-cle", foreign_key, inactive_key, api_key + "x", "k" * 5000]:
        assert_error(post(client, fmt, filing(territory, key)), fmt, 403, "api_key invalide")
    # In the query string, a key is not read (URLs end up in logs).
    response = client.post(f"{API}requests.{fmt}?api_key={api_key}", urlencode(filing(territory, None)), content_type=FORM)
    assert_error(response, fmt, 403)
    assert not Report.objects.exists()
    # The right key works.
    assert post(client, fmt, filing(territory, api_key)).status_code == 200


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("fields", "status", "fragment"),
    [
        ({"service_code": None}, 400, "service_code manquant"),
        ({"service_code": ""}, 400, "service_code manquant"),
        ({"service_code": "999999"}, 404, "service_code inconnu"),
        ({"service_code": "9" * 400}, 404, "service_code inconnu"),
        ({"service_code": "nid\x00"}, 404, "service_code inconnu"),
        ({"jurisdiction_id": "ailleurs.fr"}, 404, "jurisdiction_id inconnu"),
        ({"lat": None, "long": None}, 400, "Indiquez le lieu"),
        ({"lat": None, "long": None, "address_id": "545483"}, 400, "address_id n’est pas pris en charge"),
        ({"long": None}, 400, "Position incomplète"),
        ({"lat": "abc"}, 400, "lat : nombre attendu"),
        ({"long": "1e999"}, 400, "long : nombre attendu"),
        ({"lat": "nan"}, 400, "lat : nombre attendu"),
        ({"lat": "9" * 300}, 400, "Position impossible"),
        ({"lat": "9" * 400}, 400, "lat : nombre attendu"),
        ({"lat": "95"}, 400, "Position impossible"),
        ({"lat": "48.85", "long": "2.35"}, 400, "en dehors de Haisnes"),
        ({"description": None}, 400, "description : Décrivez le problème"),
        ({"description": "   "}, 400, "description : Décrivez le problème"),
        ({"description": "x" * 2001}, 400, "2000 caractères au plus"),
        ({"description": "Trou\x00"}, 400, "caractère non permis"),
        ({"lat": None, "long": None, "address_string": "r" * 301}, 400, "address_string : Texte trop long"),
    ],
)
def test_bad_filings_are_refused_in_the_spec_format_and_nothing_is_stored(client, territory, api_key, fmt, fields, status, fragment):
    assert_error(post(client, fmt, filing(territory, api_key, **fields)), fmt, status, fragment)
    assert not Report.objects.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_unreadable_bodies_are_refused(client, territory, api_key, fmt, settings):
    url = f"{API}requests.{fmt}"
    as_json = client.post(url, json.dumps(filing(territory, api_key)), content_type="application/json")
    assert_error(as_json, fmt, 400, "application/x-www-form-urlencoded")
    broken = client.post(url, b"--x\r\nnothing", content_type="multipart/form-data; boundary=")
    assert_error(broken, fmt, 400)
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    many = filing(territory, api_key, **{f"attribute[a{i}]": "1" for i in range(30)})
    assert_error(post(client, fmt, many), fmt, 400, "illisible")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert_error(post(client, fmt, filing(territory, api_key, description="x" * 1500)), fmt, 413)
    assert not Report.objects.exists()


def test_filings_are_limited_per_key(client, territory, api_key, settings):
    settings.OPEN311_REQUESTS_PER_HOUR = 2
    second_key = open311_client_create(organisation=territory["commune"], name="Application mobile")[1]
    assert post(client, "xml", filing(territory, api_key)).status_code == 200
    assert post(client, "xml", filing(territory, api_key), REMOTE_ADDR="192.0.2.1").status_code == 200
    # A third one from yet another address: the key is counted, not the address.
    response = post(client, "json", filing(territory, api_key), REMOTE_ADDR="192.0.2.2")
    assert_error(response, "json", 429, "réessayez dans une heure")
    assert response["Retry-After"] == "3600"
    assert post(client, "xml", filing(territory, second_key)).status_code == 200
    assert Report.objects.count() == 3


def test_jurisdiction_id_names_the_commune(client, territory, api_key):
    territory["commune"].insee_code = "62413"
    territory["commune"].save()
    for name in ["testserver", "www.testserver", "https://testserver/", "haisnes", "62413", ""]:
        assert client.get(f"{API}services.xml?jurisdiction_id={name}").status_code == 200, name
    assert_error(client.get(f"{API}services.json?jurisdiction_id=douvrin.fr"), "json", 404, "ne désigne pas Haisnes")
    assert_error(client.get(f"{API}requests.xml?jurisdiction_id=douvrin.fr"), "xml", 404, "jurisdiction_id")


# --- Reading requests ---------------------------------------------------------------------------


def test_requests_show_only_what_the_public_page_shows(client, territory):
    report = _report(territory, latitude=INSIDE[0], longitude=INSIDE[1])
    hidden_photo = ReportPhoto.objects.create(report=report, image="a.jpg", width=10, height=10)
    shown_photo = ReportPhoto.objects.create(report=report, image="b.jpg", width=10, height=10, is_public=True)
    _move(report, Report.Status.ACKNOWLEDGED, text="Merci Madame Témoin, nous passons.",
          public_text="Réparation prévue lundi.")
    _move(_report(territory), Report.Status.REJECTED, text="Hors sujet")
    _move(_report(territory), Report.Status.DUPLICATE)

    requests = read_both(client, "requests", "service_requests", "request", REQUEST_FIELDS)

    assert [r["service_request_id"] for r in requests] == [report.code]  # rejected and duplicates are not public
    report.refresh_from_db()
    shown = requests[0]
    assert shown["status"] == "open" and shown["status_notes"] == "Pris en compte"
    assert shown["service_name"] == "Nid-de-poule" and shown["service_code"] == str(territory["pothole"].pk)
    assert shown["description"] == "Réparation prévue lundi."
    assert shown["agency_responsible"] == "Services techniques (Haisnes)"
    assert shown["address"] == "Centre, Haisnes" and shown["address_id"] is None and shown["zipcode"] is None
    assert float(shown["lat"]) == INSIDE[0] and float(shown["long"]) == INSIDE[1]
    assert parse_datetime(shown["requested_datetime"]) == report.created_at.replace(microsecond=0)
    assert parse_datetime(shown["expected_datetime"]) == report.due_at.replace(microsecond=0)
    assert parse_datetime(shown["updated_datetime"]) >= parse_datetime(shown["requested_datetime"])
    for field in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert shown[field][-6:] in ("+01:00", "+02:00")  # W3C, with the offset
    assert shown["media_url"] == f"http://testserver/signalements/photo/{shown_photo.pk}/960/"
    everything = (client.get(f"{API}requests.xml").content + client.get(f"{API}requests.json").content).decode()
    for private in ("Texte secret", "Jean Jaurès", "Témoin", "Hors sujet", f"/{hidden_photo.pk}/"):
        assert private not in everything


def test_closed_requests_give_their_closing_time(client, territory):
    report = _report(territory)
    _move(report, Report.Status.RESOLVED, text="Rebouché.")
    shown = read_both(client, f"requests/{report.code}", "service_requests", "request", REQUEST_FIELDS)[0]
    assert shown["status"] == "closed" and shown["status_notes"] == "Résolu"
    assert parse_datetime(shown["updated_datetime"]) == report.closed_at.replace(microsecond=0)
    assert shown["media_url"] is None and shown["description"] is None


def test_one_request_by_its_id(client, territory):
    report = _report(territory)
    loose = report.code.replace("-", "").lower()
    shown = read_both(client, f"requests/{loose}", "service_requests", "request", REQUEST_FIELDS)
    assert [r["service_request_id"] for r in shown] == [report.code]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_or_hidden_requests_are_404(client, territory, other_commune, fmt):
    rejected = _report(territory)
    _move(rejected, Report.Status.REJECTED, text="Hors sujet")
    for code in ["ZZZZ-ZZZZ", rejected.code, "abc", "9" * 300, "AB%00D-EFGH"]:
        assert_error(client.get(f"{API}requests/{code}.{fmt}"), fmt, 404, "Aucun signalement public")
    shown = _report(territory)
    response = client.get(f"{API}requests/{shown.code}.{fmt}", HTTP_HOST="douvrin.testserver")
    assert_error(response, fmt, 404)  # another commune's host does not show it


def test_filters_by_id_service_and_status(client, territory):
    pothole = _report(territory)
    graffiti = _report(territory, "graffiti")
    resolved = _report(territory)
    _move(resolved, Report.Status.RESOLVED)

    def codes(**params):
        return {r["service_request_id"] for r in read_both(client, "requests", "service_requests", "request", REQUEST_FIELDS, **params)}

    assert codes() == {pothole.code, graffiti.code, resolved.code}
    assert codes(status="open") == {pothole.code, graffiti.code}
    assert codes(status="closed") == {resolved.code}
    assert codes(status="open,closed") == codes(status="OPEN, Closed") == codes()
    assert codes(service_code=territory["graffiti"].pk) == {graffiti.code}
    assert codes(service_code=f"{territory['graffiti'].pk},{territory['pothole'].pk}", status="closed") == {resolved.code}
    assert codes(service_code="424242") == set()
    # service_request_id overrides every other argument.
    ids = f"{pothole.code},{resolved.code.replace('-', '').lower()},ZZZZ-ZZZZ"
    assert codes(service_request_id=ids, status="closed", start_date="2001-01-01T00:00:00Z") == {pothole.code, resolved.code}


def test_dates_and_the_ninety_day_window(client, territory):
    now = timezone.now()
    recent, older, oldest = _report(territory), _report(territory), _report(territory)
    Report.objects.filter(pk=older.pk).update(created_at=now - timedelta(days=60))
    Report.objects.filter(pk=oldest.pk).update(created_at=now - timedelta(days=100))

    def codes(**params):
        return {r["service_request_id"] for r in read_both(client, "requests", "service_requests", "request", REQUEST_FIELDS, **params)}

    def w3c(moment):
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    assert codes() == {recent.code, older.code}  # the last 90 days by default
    assert codes(start_date=w3c(now - timedelta(days=120))) == {older.code, oldest.code}  # 90 days from the start
    assert codes(end_date=w3c(now - timedelta(days=5))) == {older.code}  # 90 days up to the end
    assert codes(end_date=w3c(now - timedelta(days=30))) == {older.code, oldest.code}
    assert codes(start_date=w3c(now - timedelta(days=101)), end_date=w3c(now - timedelta(days=59))) == {older.code, oldest.code}
    paris = timezone.localtime(now - timedelta(days=61)).isoformat(timespec="seconds")
    assert codes(start_date=paris, end_date=w3c(now + timedelta(days=1))) == {recent.code, older.code}
    day = timezone.localdate(now - timedelta(days=60)).isoformat()
    assert codes(start_date=day, end_date=day) == {older.code}  # a bare date is the whole day


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-06-01T00:00:00Z"}, "90 jours"),
        ({"start_date": "2024-02-01T00:00:00Z", "end_date": "2024-01-01T00:00:00Z"}, "antérieure"),
        ({"start_date": "hier"}, "start_date invalide"),
        ({"end_date": "2024-13-01T00:00:00Z"}, "end_date invalide"),
        ({"end_date": "2024-02-30"}, "end_date invalide"),
        ({"start_date": "0001-01-01T00:00:00+14:00"}, "hors limites"),
        ({"end_date": "9999-12-31"}, "hors limites"),
        ({"start_date": "99999-01-01T00:00:00Z"}, "start_date invalide"),
        ({"start_date": "2024-01-01T00:00:00+99:00"}, "start_date invalide"),
        ({"status": "pending"}, "status invalide"),
        ({"service_code": "abc"}, "service_code invalide"),
        ({"service_code": "9" * 40}, "service_code invalide"),
        ({"service_request_id": "pas-un-numero"}, "service_request_id invalide"),
        ({"service_request_id": ",".join(["ABCD-EFGH"] * 1001)}, "1000 valeurs au plus"),
    ],
)
def test_bad_searches_are_400(client, territory, fmt, params, fragment):
    assert_error(client.get(f"{API}requests.{fmt}?{urlencode(params)}"), fmt, 400, fragment)


def test_at_most_1000_requests_newest_first(client, territory, django_assert_max_num_queries):
    template = _report(territory)
    now = timezone.now()
    Report.objects.bulk_create(
        Report(commune=template.commune, category=template.category, description="", organisation=template.organisation,
               code=f"{i:04d}-0000", latitude=None, longitude=None)
        for i in range(1005)
    )
    for offset, pk in enumerate(Report.objects.exclude(pk=template.pk).order_by("code").values_list("pk", flat=True)):
        Report.objects.filter(pk=pk).update(created_at=now - timedelta(minutes=offset + 1))
    client.get(f"{API}services.xml")  # the host name is known
    for fmt in FORMATS:
        with django_assert_max_num_queries(4):  # the reports, then their approved photos
            response = client.get(f"{API}requests.{fmt}")
        shown = records(response, fmt, "service_requests", "request", REQUEST_FIELDS)
        assert len(shown) == 1000
        assert [r["service_request_id"] for r in shown[:3]] == [template.code, "0000-0000", "0001-0000"]


# --- Tokens, formats, methods ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_token_is_ever_issued(client, territory, fmt):
    follow_token = report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou",
                                 address="Rue").token
    for token in ["12345", follow_token, "t" * 500]:
        assert_error(client.get(f"{API}tokens/{token}.{fmt}"), fmt, 404, "ne délivre pas de jeton")


def test_unknown_paths_formats_and_methods(client, territory):
    assert_error(client.get(f"{API}services.html"), "xml", 404, "Format inconnu")
    assert_error(client.get(f"{API}requests/ABCD-EFGH.csv"), "xml", 404, "Format inconnu")
    assert_error(client.get(f"{API}services"), "xml", 404, "Ressource inconnue")
    assert_error(client.get(f"{API}discovery.json"), "json", 404, "Ressource inconnue")
    assert_error(client.get(API), "xml", 404)
    assert_error(client.post(f"{API}nulle/part.json"), "json", 404)  # no CSRF page either
    assert client.get(f"{API}services.JSON")["Content-Type"].startswith("application/json")
    for method, path in [("put", "requests.json"), ("delete", "services.xml"), ("post", "services.json"),
                         ("post", f"services/{territory['pothole'].pk}.xml"), ("patch", "tokens/abc.json")]:
        response = getattr(client, method)(f"{API}{path}")
        fmt = path.rsplit(".", 1)[1]
        assert_error(response, fmt, 405, f"Méthode {method.upper()} non permise")
        assert "GET" in response["Allow"] and "PUT" not in response["Allow"]
    assert client.options(f"{API}requests.xml")["Allow"] == "GET, HEAD, POST"


def test_head_answers_like_get_without_a_body(client, territory):
    get = client.get(f"{API}services.xml")
    head = client.head(f"{API}services.xml")
    assert head.status_code == 200 and head.content == b""
    assert head["Content-Length"] == str(len(get.content)) and head["Content-Type"] == get["Content-Type"]


def test_no_cookie_is_set_and_no_csrf_token_is_needed(client, territory, api_key):
    client.handler.enforce_csrf_checks = True
    response = post(client, "xml", filing(territory, api_key))
    assert response.status_code == 200
    assert not response.cookies
    assert not client.get(f"{API}requests.json").cookies


# --- The key command -----------------------------------------------------------------------------


def test_the_command_prints_a_key_once_and_stores_its_hash(client, territory):
    out = io.StringIO()
    call_command("open311_key", "haisnes", "FixMyStreet", stdout=out)
    key = out.getvalue().splitlines()[2]
    stored = Open311Client.objects.get()
    assert stored.name == "FixMyStreet" and stored.organisation == territory["commune"] and stored.is_active
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest() and len(key) >= 43
    with connection.cursor() as cursor:
        everything = []
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            everything.extend(str(row) for row in cursor.fetchall())
    assert key not in "\n".join(everything)
    assert JournalEntry.objects.get(action="open311_client.create").actor_label == "Système"
    assert "http://testserver/open311/v2/" in out.getvalue()
    # The printed key files reports.
    assert post(client, "xml", filing(territory, key)).status_code == 200


def test_the_command_refuses_what_is_not_a_commune(territory):
    with pytest.raises(CommandError, match="Aucune organisation"):
        call_command("open311_key", "nulle-part", "Client", stdout=io.StringIO())
    with pytest.raises(CommandError, match="rattachée à une commune"):
        call_command("open311_key", "agglo", "Client", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Donnez un nom"):
        call_command("open311_key", "haisnes", "  ", stdout=io.StringIO())
    with pytest.raises(CommandError, match="100 caractères"):
        call_command("open311_key", "haisnes", "n" * 101, stdout=io.StringIO())
    assert not Open311Client.objects.exists()
