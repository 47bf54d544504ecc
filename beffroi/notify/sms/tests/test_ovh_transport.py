"""The OVH backend over the outgoing HTTP client: through a proxy, and
against an answer too large to read."""

import time
from urllib.parse import urlsplit

from beffroi.notify.sms.base import Outcome, Outgoing
from beffroi.notify.sms.ovh import OvhBackend
from beffroi.notify.tests.servers import ConnectProxy, Server


def test_sms_go_through_the_outbound_proxy(ovh, settings):
    proxy = ConnectProxy()
    with proxy.in_thread() as proxy_url:
        settings.OUTBOUND_PROXY = proxy_url
        backend = OvhBackend.from_settings()
        [outcome] = backend.deliver([Outgoing(tag="t-1", to="+33612345678", text="Bonjour")], deadline=time.monotonic() + 30)
    assert outcome.kind == Outcome.SENT and ovh.ids_for("t-1") == [int(outcome.provider_id)]
    assert proxy.tunnels == [urlsplit(ovh.base_url).netloc]


def test_an_oversized_answer_from_the_sms_provider_is_an_error_to_retry():
    huge = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n" + b" " * 2_000_000
    server = Server([huge])
    with server.in_thread() as base:
        backend = OvhBackend(
            endpoint=base, application_key="k", application_secret="s", consumer_key="c", service_name="sms-1", timeout=5
        )
        [outcome] = backend.deliver([Outgoing(tag="t-1", to="+33612345678", text="Bonjour")], deadline=time.monotonic() + 30)
    assert outcome.kind == Outcome.RETRY and "Pas de réponse d’OVH (réponse de plus de 1048576 octets)" in outcome.reason
