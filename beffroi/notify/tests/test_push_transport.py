"""The push sender over the outgoing HTTP client: what a slow, broken or
hostile push service, or a proxy, changes for it."""

import asyncio
import base64
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from beffroi.notify.push.sender import Message, send_all, send_batch
from beffroi.notify.tests.servers import CREATED, DROP, SILENT, ConnectProxy, Server


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def message(base: str, name: str = "abc") -> Message:
    """A push to ``base``, encrypted for a browser key made up here."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    p256dh = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return Message(endpoint=f"{base}/push/{name}", p256dh=_b64url(p256dh), auth=_b64url(os.urandom(16)), payload=b"{}")


@pytest.fixture
def pushing(settings):
    settings.PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.OUTBOUND_PROXY = ""
    return settings


def test_a_push_without_answer_times_out_and_its_socket_is_closed(pushing):
    pushing.PUSH_TIMEOUT_SECONDS = 0.5
    server = Server([SILENT])

    async def scenario():
        base = await server.start()
        [outcome] = await send_all([message(base)], concurrency=1)
        # The server sees the connection closed (it waits for the client's end).
        await server.wait_for(lambda: server.closed_by_client == 1)
        await server.stop()
        return outcome

    outcome = asyncio.run(scenario())
    assert outcome.status is None and outcome.retryable


def test_a_push_whose_connection_breaks_once_written_is_not_sent_twice(pushing):
    """The server reads the second push then closes the kept-alive connection
    without answering: it may have delivered it. The push is not posted again
    by the sender; its outcome is unknown, and the job's retry policy decides."""
    server = Server([CREATED, DROP, CREATED])

    async def scenario():
        base = await server.start()
        outcomes = await send_all([message(base, "un"), message(base, "deux")], concurrency=1)
        await server.stop()
        return outcomes

    first, second = asyncio.run(scenario())
    assert first.status == 201
    assert second.status is None and second.retryable and not second.delivered
    assert [r.split(b" ")[1] for r in server.requests] == [b"/push/un", b"/push/deux"]


def test_an_oversized_answer_is_refused_and_its_connection_closed(pushing):
    big = b"HTTP/1.1 201 Created\r\nContent-Length: 70000\r\n\r\n" + b"x" * 70000
    server = Server([big, CREATED])

    async def scenario():
        base = await server.start()
        outcomes = await send_all([message(base, "un"), message(base, "deux")], concurrency=1)
        await server.stop()
        return outcomes

    first, second = asyncio.run(scenario())
    assert first.status is None and second.status == 201
    assert server.connections == 2  # the connection of the refused answer was not used again


def test_a_redirect_is_an_answer_not_a_way_elsewhere(pushing):
    elsewhere = Server([CREATED])

    async def scenario():
        other = await elsewhere.start()
        server = Server([f"HTTP/1.1 308 Permanent Redirect\r\nLocation: {other}/push/x\r\nContent-Length: 0\r\n\r\n".encode()])
        base = await server.start()
        [outcome] = await send_all([message(base)], concurrency=1)
        await server.stop()
        await elsewhere.stop()
        return outcome

    outcome = asyncio.run(scenario())
    assert outcome.status == 308 and not (outcome.delivered or outcome.gone or outcome.retryable)
    assert elsewhere.connections == 0


def test_an_endpoint_no_longer_allowed_is_not_contacted(pushing):
    server = Server([CREATED])
    pushing.PUSH_ALLOWED_HOSTS = ["push.example.test"]

    async def scenario():
        base = await server.start()
        [outcome] = await send_all([message(base)], concurrency=1)
        await server.stop()
        return outcome

    outcome = asyncio.run(scenario())
    assert outcome.refused and outcome.status is None and not outcome.retryable
    assert server.connections == 0


def test_pushes_go_through_the_outbound_proxy(pushing):
    server, proxy = Server([CREATED, CREATED]), ConnectProxy()
    with server.in_thread() as base, proxy.in_thread() as proxy_url:
        pushing.OUTBOUND_PROXY = proxy_url
        outcomes = send_batch([message(base, "un"), message(base, "deux")], concurrency=1)
    assert [o.status for o in outcomes] == [201, 201]
    assert proxy.tunnels == [base.removeprefix("http://")]  # one tunnel, kept alive for both
