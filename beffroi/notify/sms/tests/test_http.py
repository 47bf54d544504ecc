"""The SMS HTTP client against small real servers: bodies, reuse, and what it
never does, send a POST twice."""

import asyncio

import pytest

from beffroi.notify.sms.http import HttpClient, HttpError

JSON = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ids":[7]}'
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[1,2\r\n2\r\n,3\r\n1\r\n]\r\n0\r\n\r\n"


class Server:
    """Answers each request with the next canned response; ``None``: closes the
    connection without answering; ``"silent"``: never answers."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader, writer):
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers.pop(0)
                if answer is None:
                    break
                if answer == "silent":
                    await asyncio.sleep(10)
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        writer.close()


def _run(server, scenario):
    async def main():
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        try:
            return await scenario(f"http://127.0.0.1:{port}")
        finally:
            listener.close()

    return asyncio.run(main())


def test_answers_are_read_whole_on_one_kept_alive_connection():
    server = Server([JSON, CHUNKED])

    async def scenario(base):
        client = HttpClient(timeout=2)
        first = await client.request("POST", f"{base}/1.0/sms/s/jobs", {"X-A": "1"}, b'{"a":1}')
        second = await client.request("GET", f"{base}/1.0/sms/s/outgoing?tag=t", {})
        client.close()
        return first, second

    first, second = _run(server, scenario)
    assert (first.status, first.json()) == (200, {"ids": [7]})
    assert second.json() == [1, 2, 3]
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /1.0/sms/s/jobs HTTP/1.1\r\n")
    assert b"\r\nContent-Length: 7\r\n" in server.requests[0] and server.requests[0].endswith(b'{"a":1}')
    assert server.requests[1].startswith(b"GET /1.0/sms/s/outgoing?tag=t HTTP/1.1\r\n")
    assert b"Content-Length" not in server.requests[1]


def test_a_post_whose_connection_breaks_is_not_sent_again():
    server = Server([JSON, None, JSON])

    async def scenario(base):
        client = HttpClient(timeout=2)
        await client.request("POST", f"{base}/jobs", {}, b"{}")
        with pytest.raises(HttpError, match="connexion fermée"):
            await client.request("POST", f"{base}/jobs", {}, b"{}")
        client.close()

    _run(server, scenario)
    assert len(server.requests) == 2  # the server may have acted on it: the caller checks


def test_a_get_whose_kept_alive_connection_breaks_is_sent_again():
    server = Server([JSON, None, CHUNKED])

    async def scenario(base):
        client = HttpClient(timeout=2)
        await client.request("GET", f"{base}/a", {})
        response = await client.request("GET", f"{base}/b", {})
        client.close()
        return response

    assert _run(server, scenario).json() == [1, 2, 3]
    assert len(server.requests) == 3 and server.connections == 2


def test_the_whole_exchange_is_bounded_and_a_late_answer_never_reaches_a_later_request():
    server = Server(["silent", JSON])

    async def scenario(base):
        client = HttpClient(timeout=0.3)
        with pytest.raises(HttpError, match="délai dépassé"):
            await client.request("POST", f"{base}/jobs", {}, b"{}")
        response = await client.request("POST", f"{base}/jobs", {}, b"{}")
        client.close()
        return response

    assert _run(server, scenario).json() == {"ids": [7]}
    assert server.connections == 2


def test_a_refused_connection_is_an_error():
    async def scenario():
        listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        listener.close()
        await listener.wait_closed()
        with pytest.raises(HttpError, match="connexion impossible"):
            await HttpClient(timeout=1).request("GET", f"http://127.0.0.1:{port}/", {})

    asyncio.run(scenario())
