"""The health check (/_sante), through the real server; each failure named."""

import asyncio
import json
import socket
import threading
from datetime import timedelta

import pytest
import requests
from django.db import connections
from django.utils import timezone

from beffroi.core.management.commands.worker import beat
from beffroi.core.models import WorkerHeartbeat
from beffroi.edge.app import django_app
from beffroi.info.tests.helpers import published
from beffroi.ops.health import Health
from beffroi.realtime.hub import Hub

CHECKS = {"database", "worker", "hub", "storage", "django"}


def _health(server, **kwargs):
    return requests.get(server.url + "/_sante", timeout=15, **kwargs)


@pytest.fixture
def server(live_server_asgi):
    """The live server, its health answer never reused: each request checks again."""
    live_server_asgi.app.ops.health.cache_seconds = 0
    return live_server_asgi


@pytest.fixture
def worker_alive(transactional_db):
    beat("worker-du-test")


def test_all_checks_pass(server, worker_alive):
    response = _health(server)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert set(body["checks"]) == CHECKS
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["hub"]["lag"] == 0
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_it_answers_on_a_host_name_of_no_commune(server, worker_alive):
    """A load balancer asks by address: no commune, no session, no page cache."""
    response = _health(server, headers={"Host": "10.0.0.7:8000"})
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert all(key[1] != "/_sante" for key in server.app.pages.entries)


def test_a_stale_worker_heartbeat_fails_then_recovers(server, settings):
    too_old = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_TIMEOUT + 30)
    WorkerHeartbeat.objects.create(worker_id="arrete", seen_at=too_old)
    response = _health(server)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failed"] == ["worker"]
    assert body["checks"]["worker"]["age_s"] >= settings.WORKER_HEARTBEAT_TIMEOUT + 30
    assert "worker" in body["checks"]["worker"]["error"]

    beat("worker-redemarre")
    assert _health(server).status_code == 200


def test_no_worker_ever_seen_fails(server):
    response = _health(server)
    assert response.status_code == 503
    assert response.json()["failed"] == ["worker"]


def test_a_storage_that_cannot_be_written_fails(server, worker_alive, settings, tmp_path):
    not_a_directory = tmp_path / "fichier"
    not_a_directory.write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": not_a_directory / "private"},
        },
    }
    response = _health(server)
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["storage"]
    assert body["checks"]["storage"]["exception"] in {"NotADirectoryError", "FileExistsError"}
    # No path, no detail of the machine in the answer.
    assert str(tmp_path) not in response.text


def test_the_storage_probe_leaves_no_file(server, worker_alive, settings):
    location = settings.STORAGES["private"]["OPTIONS"]["location"]
    assert _health(server).status_code == 200
    assert not any(p.is_file() for p in location.rglob("*"))


def test_a_hub_that_cannot_read_the_log_fails_then_catches_up(server, worker_alive, commune, editor):
    hub = server.app.hub
    gate = threading.Event()
    # The hub's reads of the event log are stuck (a hung connection): the
    # event published below reaches the log but not this process's pages.
    hub.store._executor.submit(gate.wait, 30)
    try:
        published(commune, editor, title="Coupure d’eau")
        response = _health(server)
        assert response.status_code == 503
        body = response.json()
        assert body["failed"] == ["hub"]
        assert body["checks"]["hub"]["lag"] >= 1
    finally:
        gate.set()
    server.wait_for_events()
    assert _health(server).status_code == 200


def _lead_nowhere(tmp_path) -> None:
    """In the health check's thread: its database connection now leads where
    nothing answers (a PostgreSQL port nobody listens on, an SQLite file on a
    disk that is gone), as when the server stops under a running process."""
    connection = connections["default"]
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict = {**connection.settings_dict, "NAME": str(tmp_path / "disque-absent" / "db.sqlite3")}
    else:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        connection.settings_dict = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": str(port)}


def test_an_unreachable_database_fails(worker_alive, tmp_path):
    async def check():
        # No LISTEN connection: this hub lives a few milliseconds.
        hub = Hub(poll_seconds=0.25, keepalive_seconds=20, backend="inprocess")
        await hub.start()
        django = django_app()
        health = Health(hub=hub, django=django)
        await asyncio.get_running_loop().run_in_executor(health._db.pool, _lead_nowhere, tmp_path)
        try:
            return await health.answer()
        finally:
            await hub.stop()
            await asyncio.to_thread(django.close)

    status, body = asyncio.run(check())
    assert status == 503
    answer = json.loads(body)
    assert answer["failed"] == ["database", "worker"]
    assert answer["checks"]["database"]["exception"] == "OperationalError"
    assert "injoignable" in answer["checks"]["database"]["error"]
    assert answer["checks"]["hub"]["ok"] is True
    assert answer["checks"]["storage"]["ok"] is True
    assert answer["checks"]["django"]["ok"] is True


def test_a_wedged_thread_pool_fails_then_recovers(server, worker_alive, settings):
    """Every thread of Django's pool stuck in a view: the check, answered on
    the event loop, still answers, and names it."""
    from beffroi.ops.tests import hanging_urls

    settings.ROOT_URLCONF = "beffroi.ops.tests.hanging_urls"
    hanging_urls.release.clear()
    stuck = [
        threading.Thread(target=requests.get, args=(server.url + "/test/bloque/",), kwargs={"timeout": 40})
        for _ in range(settings.WEB_THREADS)
    ]
    for thread in stuck:
        thread.start()
    try:
        for _ in stuck:
            assert hanging_urls.entered.acquire(timeout=15)
        response = _health(server)
        assert response.status_code == 503
        body = response.json()
        assert body["failed"] == ["django"]
        assert "fil de Django" in body["checks"]["django"]["error"]
    finally:
        hanging_urls.release.set()
        for thread in stuck:
            thread.join(timeout=40)
    assert _health(server).status_code == 200


def test_a_load_balancer_may_leave_the_shared_worker_out(server):
    """No worker: the site still serves pages; "?sauf=worker" keeps the status
    to what this process needs, and still shows the worker's state."""
    assert _health(server).status_code == 503
    response = _health(server, params={"sauf": "worker"})
    assert response.status_code == 200
    body = response.json()
    assert body["failed"] == []
    assert body["checks"]["worker"]["ok"] is False
    unknown = _health(server, params={"sauf": "base"})
    assert unknown.status_code == 400
    assert "Vérification inconnue" in unknown.text


def test_other_methods_are_refused(server):
    response = requests.post(server.url + "/_sante", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
