"""The outgoing HTTP client against small real servers: framing and reuse,
deadlines that close the socket, no request sent twice, bounded answers,
TLS, proxies. On both event loops the project runs (asyncio, uvloop)."""

import asyncio

import pytest
import uvloop

from beffroi.notify.http import MAX_HEAD, HttpClient, MaybeSent, NotSent, parse_proxy
from beffroi.notify.tests.servers import (
    CHUNKED,
    CREATED,
    DROP,
    ENDLESS,
    JSON,
    SILENT,
    CloseWhenTold,
    ConnectProxy,
    Server,
    ThenClose,
    self_signed,
)

CLOSING = b"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request):
    return asyncio.run if request.param == "asyncio" else uvloop.run


def client(**options) -> HttpClient:
    return HttpClient(**{"timeout": 5.0, "max_body": 64 * 1024, **options})


def test_answers_are_read_whole_on_one_kept_alive_connection(run):
    async def scenario():
        server = Server([JSON, CHUNKED, CREATED])
        base = await server.start()
        http = client()
        first = await http.request("POST", f"{base}/1.0/sms/s/jobs?x=1", {"X-A": "1"}, b'{"a":1}')
        second = await http.request("GET", f"{base}/1.0/sms/s/outgoing?tag=t", {})
        third = await http.request("POST", f"{base}/push/abc", {"TTL": "60"}, b"corps")
        http.close()
        await server.stop()
        return first, second, third, server

    first, second, third, server = run(scenario())
    assert (first.status, first.json()) == (200, {"ids": [7]})
    assert second.json() == [1, 2, 3]
    assert (third.status, third.body) == (201, b"")
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /1.0/sms/s/jobs?x=1 HTTP/1.1\r\n")
    assert b"\r\nContent-Length: 7\r\n" in server.requests[0] and server.requests[0].endswith(b'{"a":1}')
    assert server.requests[1].startswith(b"GET /1.0/sms/s/outgoing?tag=t HTTP/1.1\r\n")
    assert b"Content-Length" not in server.requests[1]
    assert b"\r\nTTL: 60\r\n" in server.requests[2] and server.requests[2].endswith(b"corps")


def test_a_connection_the_server_closes_is_not_reused(run):
    async def scenario():
        server = Server([CLOSING, CREATED])
        base = await server.start()
        http = client()
        statuses = [(await http.request("POST", f"{base}/p", {}, b"x")).status for _ in range(2)]
        http.close()
        await server.stop()
        return statuses, server.connections

    assert run(scenario()) == ([410, 201], 2)


def test_informational_answers_are_skipped_and_an_answer_may_end_with_the_connection(run):
    early_hints = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    until_close = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[1]"

    async def scenario():
        server = Server([early_hints + CREATED, ThenClose(until_close)])
        base = await server.start()
        http = client()
        first = await http.request("POST", f"{base}/p", {}, b"x")
        second = await http.request("GET", f"{base}/p", {})
        await server.stop()
        return first.status, second.json()

    assert run(scenario()) == (201, [1])


def test_a_request_without_answer_times_out_and_its_socket_is_closed(run):
    async def scenario():
        server = Server([SILENT, JSON])
        base = await server.start()
        http = client(timeout=0.3)
        with pytest.raises(MaybeSent, match="délai dépassé"):
            await http.request("POST", f"{base}/jobs", {}, b"{}")
        # The server sees the connection closed: no socket stays open after a timeout.
        await server.wait_for(lambda: server.closed_by_client == 1)
        # A late answer can never pass for the answer to a later request.
        http.timeout = 5.0  # this one is answered: no need to race a busy machine
        response = await http.request("POST", f"{base}/jobs", {}, b"{}")
        http.close()
        await server.stop()
        return response, server

    response, server = run(scenario())
    assert response.json() == {"ids": [7]}
    assert server.connections == 2


def test_a_request_the_server_does_not_read_times_out_and_its_socket_is_closed(run):
    async def scenario():
        release, closed = asyncio.Event(), asyncio.Event()

        async def handle(reader, writer):
            await release.wait()  # reads nothing until the client has given up
            try:
                while await reader.read(1 << 20):
                    pass
            except ConnectionError:
                pass
            closed.set()
            writer.close()

        listener = await asyncio.start_server(handle, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/p"
        with pytest.raises(MaybeSent, match="délai dépassé"):
            await client(timeout=0.3).request("POST", url, {}, b"x" * 20_000_000)  # more than the socket buffers
        release.set()
        await asyncio.wait_for(closed.wait(), 5)  # the server reads to the end: the client closed
        listener.close()

    run(scenario())


def test_a_handshake_or_tunnel_that_never_ends_times_out_unsent_and_is_closed(run):
    async def scenario():
        mute = Server([])  # reads a request head forever: a TLS handshake never ends
        mute_base = await mute.start()
        with pytest.raises(NotSent, match="délai dépassé"):
            await client(timeout=0.3).request("POST", mute_base.replace("http:", "https:") + "/p", {}, b"x")
        await mute.wait_for(lambda: mute.ended == 1)
        stuck_proxy = Server([SILENT])  # reads CONNECT, never answers
        proxy_url = await stuck_proxy.start()
        with pytest.raises(NotSent, match="délai dépassé"):
            await client(timeout=0.3, proxy=proxy_url).request("POST", "https://push.example.test/p", {}, b"x")
        await stuck_proxy.wait_for(lambda: stuck_proxy.closed_by_client == 1)
        await mute.stop()
        await stuck_proxy.stop()
        return stuck_proxy.requests

    [connect] = run(scenario())
    assert connect.startswith(b"CONNECT push.example.test:443 HTTP/1.1\r\nHost: push.example.test:443\r\n")


def test_a_request_written_on_a_connection_that_then_breaks_is_not_sent_again(run):
    async def scenario():
        server = Server([CREATED, DROP, CREATED, DROP, CREATED])
        base = await server.start()
        http = client()
        await http.request("POST", f"{base}/jobs", {}, b"{}")
        with pytest.raises(MaybeSent, match="connexion fermée"):
            await http.request("POST", f"{base}/jobs", {}, b"{}")
        await http.request("GET", f"{base}/outgoing", {})
        with pytest.raises(MaybeSent, match="connexion fermée"):
            await http.request("GET", f"{base}/outgoing", {})  # nor a GET: the rule has no exception
        after = await http.request("GET", f"{base}/outgoing", {})
        http.close()
        await server.stop()
        return after.status, server

    status, server = run(scenario())
    assert status == 201
    assert len(server.requests) == 5  # each request reached the server once


def test_a_kept_alive_connection_the_server_closed_is_detected_before_writing(run):
    """The server closes an idle connection and the client's event loop has not
    run since (it has not read the news) when the next request comes: the
    request goes, once, on a new connection."""
    closing = CloseWhenTold()
    server = Server([closing, CREATED])

    async def scenario(base):
        http = client()
        await http.request("POST", f"{base}/p", {}, b"1")
        closing.told.set()
        assert closing.closed.wait(5)  # blocks this loop: the connection still looks open to it
        second = await http.request("POST", f"{base}/p", {}, b"2")
        http.close()
        return second.status

    with server.in_thread() as base:
        assert run(scenario(base)) == 201
    assert [r[-1:] for r in server.requests] == [b"1", b"2"] and server.connections == 2


def test_answers_are_bounded(run):
    async def scenario():
        big = b"HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n" + b"x" * 70000
        long_head = b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (MAX_HEAD + 1) + b"\r\nContent-Length: 0\r\n\r\n"
        server = Server([big, ENDLESS, long_head, CREATED])
        base = await server.start()
        http = client(max_body=64 * 1024)
        with pytest.raises(MaybeSent, match="réponse de plus de 65536 octets"):
            await http.request("POST", f"{base}/p", {}, b"x")
        with pytest.raises(MaybeSent, match="réponse de plus de 65536 octets"):
            await http.request("POST", f"{base}/p", {}, b"x")
        with pytest.raises(MaybeSent, match="en-têtes de réponse trop longs"):
            await http.request("POST", f"{base}/p", {}, b"x")
        await server.wait_for(lambda: server.ended == 3)  # each refused answer closed its connection
        ok = await http.request("POST", f"{base}/p", {}, b"x")
        await server.stop()
        return ok.status, server.connections

    assert run(scenario()) == (201, 4)


def test_redirects_are_not_followed(run):
    async def scenario():
        elsewhere = Server([CREATED])
        other = await elsewhere.start()
        server = Server([f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {other}/x\r\nContent-Length: 0\r\n\r\n".encode()])
        base = await server.start()
        response = await client().request("POST", f"{base}/push/abc", {}, b"x")
        await server.stop()
        await elsewhere.stop()
        return response.status, elsewhere.connections

    assert run(scenario()) == (307, 0)


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("http://127.0.0.1:9/p", {"TTL": "60\r\nX-Injected: 1"}),
        ("http://127.0.0.1:9/p", {"TTL": "60\nX"}),
        ("http://127.0.0.1:9/p q", {}),
        ("http://user@127.0.0.1:9/p", {}),
        ("ftp://127.0.0.1/p", {}),
        ("http://127.0.0.1:99999/p", {}),
        ("http://127.0.0.1:9/p", {"Ünï": "x"}),
    ],
)
def test_a_request_that_cannot_be_written_safely_is_refused_before_any_connection(url, headers):
    with pytest.raises(NotSent):
        asyncio.run(client().request("POST", url, headers, b"x"))


def test_a_refused_connection_is_not_sent(run):
    async def scenario():
        server = Server([])
        base = await server.start()
        await server.stop()
        await server.listener.wait_closed()
        with pytest.raises(NotSent, match="connexion impossible"):
            await client(timeout=2).request("GET", f"{base}/", {})

    run(scenario())


def test_https_servers_are_verified(run, tmp_path):
    server_context, trusting = self_signed(tmp_path)

    async def scenario():
        server = Server([CREATED], ssl_context=server_context)
        base = await server.start()
        with pytest.raises(NotSent, match="connexion impossible"):
            await client(timeout=2).request("POST", f"{base}/p", {}, b"x")  # unknown certificate
        response = await client(timeout=2, ssl_context=trusting).request("POST", f"{base}/p", {}, b"x")
        await server.stop()
        return response.status

    assert run(scenario()) == 201


def test_through_a_proxy_every_connection_is_a_tunnel_with_tls_inside(run, tmp_path):
    server_context, trusting = self_signed(tmp_path)

    async def scenario():
        plain, secure = Server([CREATED, CREATED]), Server([JSON], ssl_context=server_context)
        plain_base, secure_base = await plain.start(), await secure.start()
        proxy = ConnectProxy()
        proxy_url = await proxy.start()
        proxy_url = proxy_url.replace("http://", "http://beffroi:s%40cret@")
        http = client(proxy=proxy_url, ssl_context=trusting)
        statuses = [(await http.request("POST", f"{plain_base}/p", {}, b"x")).status for _ in range(2)]
        answer = (await http.request("POST", f"{secure_base}/jobs", {}, b"{}")).json()
        http.close()
        for server in (plain, secure, proxy):
            await server.stop()
        return statuses, answer, proxy, plain_base, secure_base

    statuses, answer, proxy, plain_base, secure_base = run(scenario())
    assert statuses == [201, 201] and answer == {"ids": [7]}
    # One tunnel per connection (the kept-alive one served both plain requests).
    assert proxy.tunnels == [plain_base.split("//")[1], secure_base.split("//")[1]]
    assert proxy.authorizations == ["Basic YmVmZnJvaTpzQGNyZXQ="] * 2  # beffroi:s@cret


def test_a_refused_tunnel_is_not_sent(run):
    async def scenario():
        target = Server([CREATED])
        base = await target.start()
        proxy = ConnectProxy(refuse=407)
        http = client(proxy=await proxy.start())
        with pytest.raises(NotSent, match="tunnel refusé par le mandataire \\(HTTP 407\\)"):
            await http.request("POST", f"{base}/p", {}, b"x")
        await proxy.stop()
        await target.stop()
        return target.connections

    assert run(scenario()) == 0


@pytest.mark.parametrize("url", ["https://proxy:3128", "proxy:3128", "http://", "http://proxy:3128/path", "http://proxy:x"])
def test_a_proxy_setting_must_be_an_http_url(url):
    with pytest.raises(ValueError, match="OUTBOUND_PROXY"):
        parse_proxy(url)


def test_a_proxy_setting_reads_host_port_and_credentials():
    assert parse_proxy("") is None
    proxy = parse_proxy("http://proxy.hebergeur.fr:3128")
    assert (proxy.host, proxy.port, proxy.authorization) == ("proxy.hebergeur.fr", 3128, "")


def test_a_wrong_proxy_setting_is_reported_by_the_system_checks(settings):
    from beffroi.notify.checks import outbound_proxy

    settings.OUTBOUND_PROXY = "https://proxy.hebergeur.example:3128"
    assert [w.id for w in outbound_proxy()] == ["notify.W001"]
    settings.OUTBOUND_PROXY = "http://proxy.hebergeur.example:3128"
    assert outbound_proxy() == []
