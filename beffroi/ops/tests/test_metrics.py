"""/_metriques through the real server: the token, and figures parsed back."""

import secrets
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client.parser import text_string_to_metric_families

from beffroi.core.maintenance import daily_maintenance
from beffroi.core.tasks import enqueue

TOKEN = "jeton-de-test-des-metriques-assez-long-0123456789"  # fixed: xdist workers must collect the same ids


def scrape(server, token=TOKEN, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(server.url + "/_metriques", headers=headers, timeout=15, **kwargs)


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} of every sample of the exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(figures: dict, name: str, **labels) -> float:
    return figures.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def with_token(settings):
    settings.METRICS_TOKEN = TOKEN


def test_without_a_configured_token_the_endpoint_does_not_exist(live_server_asgi, settings):
    settings.METRICS_TOKEN = ""
    assert scrape(live_server_asgi).status_code == 404
    assert scrape(live_server_asgi, token=None).status_code == 404


def test_a_missing_token_is_asked_for(live_server_asgi, with_token):
    response = scrape(live_server_asgi, token=None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "# TYPE" not in response.text


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer", TOKEN],
)
def test_a_wrong_token_is_refused(live_server_asgi, with_token, authorization):
    response = requests.get(
        live_server_asgi.url + "/_metriques", headers={"Authorization": authorization}, timeout=15
    )
    assert response.status_code == 403
    assert "# TYPE" not in response.text


def test_requests_are_counted_by_view_group_never_by_path(live_server_asgi, with_token):
    before = samples(scrape(live_server_asgi).text)
    follow_token = secrets.token_urlsafe(24)
    assert requests.get(f"{live_server_asgi.url}/suivi/{follow_token}/", timeout=15).status_code == 404
    assert requests.get(f"{live_server_asgi.url}/actualites/", timeout=15).status_code == 200
    response = scrape(live_server_asgi)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response.headers["Cache-Control"] == "no-store"
    after = samples(response.text)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("beffroi_http_requests_total", group="reports", method="GET", code="404") == 1
    assert grew("beffroi_http_requests_total", group="info", method="GET", code="200") >= 1
    assert grew("beffroi_http_request_duration_seconds_count", group="reports") == 1
    assert follow_token not in response.text
    assert "/suivi/" not in response.text


def test_a_waiting_job_is_counted_with_its_age(live_server_asgi, with_token):
    job = enqueue(daily_maintenance)
    DBTaskResult.objects.filter(pk=job.id).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    enqueue(daily_maintenance, run_after=timezone.now() + timedelta(hours=1))  # not due: not waiting
    figures = samples(scrape(live_server_asgi).text)
    assert value(figures, "beffroi_jobs_waiting", queue="default") == 1
    assert value(figures, "beffroi_jobs_oldest_waiting_seconds", queue="default") >= 300
    assert value(figures, "beffroi_jobs_scheduled") == 1


def test_cached_pages_and_open_streams_are_counted(live_server_asgi, with_token):
    before = samples(scrape(live_server_asgi).text)
    for _ in range(3):
        requests.get(live_server_asgi.url + "/", timeout=15)
    with requests.get(live_server_asgi.url + "/flux/public", stream=True, timeout=15) as stream:
        assert stream.status_code == 200
        during = samples(scrape(live_server_asgi).text)
    assert value(during, "beffroi_page_cache_hits_total") - value(before, "beffroi_page_cache_hits_total") >= 2
    assert value(during, "beffroi_page_cache_entries") >= 1
    # (Servers of earlier tests may still be in this process's memory: at least.)
    assert value(during, "beffroi_page_cache_bytes") >= live_server_asgi.app.pages.size > 0
    assert value(during, "beffroi_sse_streams_open") == 1


def test_methods_other_than_get_are_refused(live_server_asgi, with_token):
    response = requests.post(
        live_server_asgi.url + "/_metriques", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=15
    )
    assert response.status_code == 405
