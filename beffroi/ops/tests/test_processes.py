"""Several web processes, as production runs them: one scrape adds up every
process's figures, and every log line is JSON without the visitor.

Each server is a real uvicorn process, started as beffroi-web.service starts
one (proxy headers trusted from 127.0.0.1, uvicorn's logging from
deploy/uvicorn-logging.json), all sharing one PROMETHEUS_MULTIPROC_DIR.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from django.conf import settings

from beffroi.ops.tests.test_metrics import samples, value
from conftest import subprocess_database_url

TOKEN = secrets.token_urlsafe(32)
ADDRESS = "203.0.113.77"
AGENT = "Navigateur-Temoin/7.3"
VISITOR = {"X-Forwarded-For": ADDRESS, "User-Agent": AGENT}


class Server:
    def __init__(self, environment: dict, log_path):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")  # closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "beffroi.asgi:application",
                "--host", "127.0.0.1", "--port", str(self.port), "--lifespan", "on",
                "--no-access-log", "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1",
                "--log-config", "deploy/uvicorn-logging.json", "--timeout-graceful-shutdown", "1",
            ],
            cwd=settings.BASE_DIR, env=environment, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while True:
            assert self.process.poll() is None, f"the server stopped: {log_path.read_text()}"
            try:
                requests.get(self.url + "/_sante", timeout=5)
                return
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)

    def scrape(self) -> dict:
        response = requests.get(self.url + "/_metriques", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=15)
        assert response.status_code == 200, response.text
        return samples(response.text)

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def environment(transactional_db, commune, tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    (var / "static").symlink_to(settings.STATIC_ROOT)  # the session's collected files
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    return {
        **os.environ,
        "DATABASE_URL": subprocess_database_url(),
        "BEFFROI_VAR_DIR": str(var),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": TOKEN,
        "LOG_FORMAT": "json",
    }


@pytest.fixture
def servers(environment, tmp_path):
    started = []

    def start(name):
        started.append(Server(environment, tmp_path / f"{name}.log"))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _until(condition, what: str):
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_one_scrape_adds_up_every_process(servers):
    first, second = servers("a"), servers("b")
    token = secrets.token_urlsafe(24)
    for server, count in ((first, 3), (second, 2)):
        for _ in range(count):
            assert requests.get(f"{server.url}/suivi/{token}/", headers=VISITOR, timeout=15).status_code == 404
        for _ in range(2):  # rendered once, then from this process's page cache
            assert requests.get(server.url + "/", timeout=15).status_code == 200

    # The edge's counters are copied when the process is scraped, and every
    # few seconds: scrape each once, then each scrape holds both processes'.
    first.scrape(), second.scrape()
    for server in (first, second):
        figures = server.scrape()
        assert value(figures, "beffroi_http_requests_total", group="reports", method="GET", code="404") == 5
        assert value(figures, "beffroi_http_request_duration_seconds_count", group="reports") == 5
        assert value(figures, "beffroi_page_cache_hits_total") == 2

    # An open stream in one process is seen from the other (its sampler
    # copies it every few seconds).
    with requests.get(first.url + "/flux/public", stream=True, timeout=15) as stream:
        assert stream.status_code == 200
        _until(lambda: value(second.scrape(), "beffroi_sse_streams_open") == 1, "the stream was not counted")
        # The first process dies with its stream open: its count stays in its file...
        first.stop(signal.SIGKILL)
    assert value(second.scrape(), "beffroi_sse_streams_open") == 1
    # ...until a process starts in its place (uvicorn restarts dead workers)
    # and drops the current values of processes that are gone.
    third = servers("c")
    figures = third.scrape()
    assert value(figures, "beffroi_sse_streams_open") == 0
    # Counters keep what the dead process counted.
    assert value(figures, "beffroi_http_requests_total", group="reports", method="GET", code="404") == 5


def test_every_line_is_json_and_names_no_visitor(servers, tmp_path):
    server = servers("journal")
    token = secrets.token_urlsafe(24)
    assert requests.get(f"{server.url}/suivi/{token}/", headers=VISITOR, timeout=15).status_code == 404
    assert requests.get(f"{server.url}/flux/signalement?jeton={token}", headers=VISITOR, timeout=15).status_code == 404
    server.stop()

    text = (tmp_path / "journal.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    loggers = {line["logger"] for line in lines}
    assert "uvicorn.error" in loggers  # uvicorn's own lines too ("Application startup complete")
    requests_logged = [line for line in lines if line["logger"] == "beffroi.request"]
    assert [(line["route"], line["status"]) for line in requests_logged] == [("reports:follow", 404)]
    for secret in (token, ADDRESS, AGENT, "/suivi/"):
        assert secret not in text
