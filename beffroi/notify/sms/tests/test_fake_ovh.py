"""The fake OVH API itself: its control routes, and its own process for benchmarks."""

import http.client
import json
import subprocess
import sys
import time
from urllib.parse import urlsplit

from django.conf import settings

from beffroi.notify.sms.base import Outgoing
from beffroi.notify.sms.ovh import OvhBackend
from fakes.ovh_sms import FakeOvh, segments


def _call(base_url: str, method: str, path: str, payload=None):
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    body = json.dumps(payload).encode() if payload is not None else None
    connection.request(method, path, body=body)
    response = connection.getresponse()
    answer = response.status, json.loads(response.read())
    connection.close()
    return answer


def _backend(fake: FakeOvh) -> OvhBackend:
    c = fake.credentials()
    return OvhBackend(
        endpoint=c["SMS_OVH_ENDPOINT"],
        application_key=c["SMS_OVH_APPLICATION_KEY"],
        application_secret=c["SMS_OVH_APPLICATION_SECRET"],
        consumer_key=c["SMS_OVH_CONSUMER_KEY"],
        service_name=c["SMS_OVH_SERVICE_NAME"],
        timeout=2,
    )


def _send(backend: OvhBackend, tag: str, to: str = "+33612345678"):
    return backend.deliver([Outgoing(tag=tag, to=to, text="Bonjour")], deadline=time.monotonic() + 30)[0]


def test_faults_and_counts_are_driven_over_http(fake_ovh):
    backend = _backend(fake_ovh)
    assert _call(fake_ovh.base_url, "POST", "/_fake/fail", {"count": 1, "status": 500}) == (200, {"ok": True})
    assert _send(backend, "a").kind == "retry"
    _call(fake_ovh.base_url, "POST", "/_fake/fail", {"count": 1, "status": 503, "record": True})
    assert _send(backend, "a").kind == "retry"  # kept, though the answer says otherwise
    assert _send(backend, "a").kind == "sent"  # a careless client sends it twice
    _call(fake_ovh.base_url, "POST", "/_fake/invalid", {"receivers": ["+33700000000"]})
    assert _send(backend, "b", to="+33700000000").kind == "failed"

    status, stats = _call(fake_ovh.base_url, "GET", "/_fake/stats")
    assert status == 200
    assert stats["accepted"] == 2 and stats["injected"] == 2 and stats["tags"] == 1
    assert stats["duplicate_tags"] == 1 and stats["duplicates"] == {"a": 2}
    assert _call(fake_ovh.base_url, "GET", "/_fake/tags/a") == (200, fake_ovh.ids_for("a"))
    status, messages = _call(fake_ovh.base_url, "GET", "/_fake/messages")
    assert [m["tag"] for m in messages] == ["a", "a"]

    _call(fake_ovh.base_url, "POST", "/_fake/reset")
    assert fake_ovh.stats()["accepted"] == 0


def test_unsigned_or_unknown_routes_are_refused(fake_ovh):
    assert _call(fake_ovh.base_url, "GET", "/1.0/sms/sms-fake-1/outgoing?tag=a")[0] == 403
    assert _call(fake_ovh.base_url, "POST", "/1.0/sms/sms-fake-1/outgoing", {})[0] == 404
    status, now = _call(fake_ovh.base_url, "GET", "/1.0/auth/time")
    assert status == 200 and abs(now - time.time()) < 5


def test_credits_count_gsm_and_unicode_segments():
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 459) == 3
    assert segments("Rappel : rendez-vous à 9 h") == 1  # à is in the GSM alphabet
    assert segments("œ" * 70) == 1 and segments("œ" * 71) == 2


def test_it_runs_as_a_process_for_benchmarks():
    command = [sys.executable, "-m", "fakes.ovh_sms", "--port", "0"]
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("Fake OVH SMS API listening on http://127.0.0.1:")
        fake = FakeOvh(port=int(line.rsplit(":", 1)[1].split("/")[0]))  # same default credentials
        assert _send(_backend(fake), "bench-1").kind == "sent"
        status, stats = _call(fake.base_url, "GET", "/_fake/stats")
        assert stats["accepted"] == 1 and stats["tags"] == 1
    finally:
        process.terminate()
        process.wait(10)
