"""Request log lines: what was done, never by whom nor the path's token."""

import io
import json
import logging
import secrets

import pytest
import requests
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.log import log_response

from beffroi.ops.logs import HidePaths, JsonFormatter
from beffroi.safe.models import Document
from beffroi.safe.tests.conftest import beneficiary, owner_client, pdf_bytes  # noqa: F401 (fixtures)
from beffroi.safe.tests.test_documents import upload

ADDRESS = "203.0.113.77"
AGENT = "Navigateur-Temoin/7.3"


@pytest.fixture
def json_lines():
    """The production handler: JSON formatter and the path filter, on the root logger."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(HidePaths())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = logging.getLogger("beffroi.request").level
    logging.getLogger("beffroi.request").setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger("beffroi.request").setLevel(previous)
    root.removeHandler(handler)


def _request_lines(lines):
    return [line for line in lines if line["logger"] == "beffroi.request"]


def test_a_request_line_names_the_route_not_the_path_nor_the_visitor(client, commune, json_lines):
    token = secrets.token_urlsafe(24)
    response = client.get(
        f"/suivi/{token}/?source=affiche", REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR=ADDRESS, HTTP_USER_AGENT=AGENT
    )
    assert response.status_code == 404
    (line,) = _request_lines(json_lines())
    assert line["route"] == "reports:follow"
    assert line["group"] == "reports"
    assert line["method"] == "GET"
    assert line["status"] == 404
    assert line["commune"] == commune.pk
    assert line["bytes"] == len(response.content)
    assert isinstance(line["duration_ms"], float)
    text = json.dumps(line)
    for secret in (token, ADDRESS, AGENT, "/suivi/", "affiche"):
        assert secret not in text
    assert set(line) == {
        "time", "level", "logger", "message", "method", "route", "group", "status", "duration_ms", "bytes", "commune",
    }


def test_an_unknown_method_is_not_written_as_sent(client, commune, json_lines):
    client.generic("BROUILLE<script>", "/", REMOTE_ADDR=ADDRESS)
    (line,) = _request_lines(json_lines())
    assert line["method"] == "other"
    assert "script" not in json.dumps(line)


def test_djangos_own_error_lines_name_the_route_instead_of_the_path(db, json_lines):
    token = secrets.token_urlsafe(24)
    request = RequestFactory().get(f"/suivi/{token}/", REMOTE_ADDR=ADDRESS)
    # Exactly how Django reports a server error.
    log_response("%s: %s", "Internal Server Error", request.path, response=HttpResponse(status=500), request=request)
    (line,) = [line for line in json_lines() if line["logger"] == "django.request"]
    assert line["message"] == "Internal Server Error: reports:follow"
    assert token not in json.dumps(line)
    assert ADDRESS not in json.dumps(line)


def test_a_streamed_download_is_written_once_it_ended_with_its_size(owner_client, json_lines):  # noqa: F811
    upload(owner_client, pdf_bytes())
    document = Document.objects.get()
    response = owner_client.get(f"/coffre/documents/{document.pk}/fichier/")
    assert response.streaming
    assert _request_lines(json_lines())[-1]["route"] != "safe:document_file"  # not yet: still streaming
    size = len(b"".join(response.streaming_content))
    response.close()
    line = _request_lines(json_lines())[-1]
    assert line["route"] == "safe:document_file"
    assert line["status"] == 200
    assert line["bytes"] == size > 0
    assert str(document.pk) not in json.dumps(line)


def test_a_large_body_is_written_once_not_for_the_edges_preflight(live_server_asgi, json_lines):
    """Over 1 MiB, the edge asks Django before it receives the body (a
    preflight); only the request itself makes a line."""
    token = secrets.token_urlsafe(24)
    body = b"x" * (2 << 20)
    response = requests.post(
        f"{live_server_asgi.url}/suivi/{token}/", data=body, headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    )
    lines = _request_lines(json_lines())
    assert [(line["route"], line["status"]) for line in lines] == [("reports:follow", response.status_code)]


def test_a_file_goes_out_through_the_servers_file_wrapper_and_is_written_when_closed(live_server_asgi, json_lines):
    """A file response keeps its file for the server's wsgi.file_wrapper (large
    pieces, not Django's 4 KiB), and its line comes when it is closed."""
    from django.contrib.staticfiles import finders

    from beffroi.edge import wsgi

    pieces = []
    original = wsgi.FileWrapper.__next__

    def counted(self):
        piece = original(self)
        pieces.append(len(piece))
        return piece

    wsgi.FileWrapper.__next__ = counted
    try:
        path = finders.find("reports/vendor/leaflet-1.9.4/leaflet.js")
        answer = requests.get(f"{live_server_asgi.url}/static/reports/vendor/leaflet-1.9.4/leaflet.js",
                              headers={"Accept-Encoding": "identity"}, timeout=10)
    finally:
        wsgi.FileWrapper.__next__ = original
    assert answer.status_code == 200 and len(answer.content) == len(open(path, "rb").read())
    assert pieces and max(pieces) > 4096  # the server's wrapper read it, in large pieces
    (line,) = [line for line in _request_lines(json_lines()) if line["status"] == 200 and line["bytes"] == len(answer.content)]
    assert line["method"] == "GET"
