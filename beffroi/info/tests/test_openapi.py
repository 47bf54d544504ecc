"""The OpenAPI document the site serves, and schemathesis run over it.

Schemathesis calls the real server (uvicorn, the edge, Django) over HTTP, on a
database holding a commune with published posts of every kind, topics,
sectors and a panel, so that valid requests reach real data. Every response
must conform to the document (status codes, content type, schema) and none
may be a server error.
"""

import json
from datetime import timedelta

import pytest
import schemathesis
from django.core.cache import caches
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import checks as generic_checks
from schemathesis.specs.openapi import checks as openapi_checks

from beffroi.api import api
from beffroi.core.models import Domain
from beffroi.info.models import Post, Screen
from beffroi.info.services import post_create, post_transition

DOCUMENT = json.loads(json.dumps(api.get_openapi_schema()))
ROUTES = {
    "/api/v1/posts": {"get"},
    "/api/v1/posts/{post_id}": {"get"},
    "/api/v1/alerts": {"get"},
    "/api/v1/agenda": {"get"},
    "/api/v1/topics": {"get"},
    "/api/v1/sectors": {"get"},
    "/api/v1/panels/{slug}": {"get"},
    "/api/v1/push/key": {"get"},
    "/api/v1/push/subscriptions": {"post", "delete"},
}


def test_the_document_is_openapi_3_and_lists_every_route(client, commune):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    paths = {path: set(operations) & {"get", "post", "put", "patch", "delete"} for path, operations in document["paths"].items()}
    assert paths == ROUTES
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
            # Every documented error answers the same French error shape.
            for status, answer in operation["responses"].items():
                if status.startswith("4"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_schemathesis_tests_the_document_the_site_serves(client, commune):
    assert client.get("/api/v1/openapi.json").json() == DOCUMENT


def test_the_document_is_served_on_every_commune_host(client, commune, other_commune):
    here = client.get("/api/v1/openapi.json").json()
    there = client.get("/api/v1/openapi.json", HTTP_HOST="douvrin.testserver").json()
    assert here == there


# --- Schemathesis -------------------------------------------------------------------


def _publish(editor, commune, kind, **fields):
    post = post_create(actor=editor, commune=commune, kind=kind, fields=fields)
    return post_transition(actor=editor, post=post, action="publish")


@pytest.fixture
def seeded(commune, other_commune, topic, sector, editor):
    """What valid requests should find: posts of every kind, a topic, a sector, a panel."""
    # The schemathesis client sends "Host: localhost".
    Domain.objects.create(hostname="localhost", organisation=commune)
    now = timezone.now()
    news = _publish(editor, commune, Post.Kind.NEWS, title="Conseil municipal", summary="Ordre du jour", topic=topic)
    news.sectors.set([sector])
    _publish(
        editor, commune, Post.Kind.EVENT, title="Fête du village", place="Salle des fêtes",
        starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=2, hours=4), topic=topic,
    )
    _publish(
        editor, commune, Post.Kind.WORKS, title="Réfection de la rue", starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=10), traffic=Post.Traffic.ALTERNATING,
    )
    _publish(
        editor, commune, Post.Kind.ALERT, title="Vigilance orages", summary="Orages attendus ce soir.",
        level=Post.Level.WARNING, expires_at=now + timedelta(hours=6),
    )
    screen = Screen.objects.create(organisation=commune, name="Panneau de la mairie", slug="mairie", kinds=["news", "event"])
    screen.topics.set([topic])
    return commune


# Schemathesis reads the document when the module is collected, before any
# database exists (a request needs a commune); the test above checks that the
# site serves exactly this document. (Its lazy loader, from_fixture, which
# could fetch it from the site, fails on pytest 9.2: it sets Node._nodeid.)
schema = schemathesis.openapi.from_dict(DOCUMENT)


CHECKS = [
    generic_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.positive_data_acceptance,
    openapi_checks.unsupported_method,
    openapi_checks.allow_header_conformance,
]


@pytest.fixture
def served(seeded, live_server_asgi):
    """The real server (edge, WSGI bridge, Django), as clients reach it: what
    an in-process call skips (the path's bytes, headers, bodies) is tested too."""
    return live_server_asgi


# Every phase: the document's examples, the coverage of each constraint's
# edges (empty, too long, wrong type, non-ASCII and undecodable paths) and
# fuzzing, positive and negative.
@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_honours_its_document(case, served):
    # The subscription endpoint is rate-limited per address; every case must
    # reach the view rather than the limiter.
    caches["default"].clear()
    response = case.call(base_url=served.url)
    case.validate_response(response, checks=CHECKS)
