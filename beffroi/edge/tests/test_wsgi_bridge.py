"""The WSGI bridge through uvicorn: bodies received whole by the event loop,
the preflight of large ones, responses sent by the loop, and no thread
waiting on a slow client."""

import hashlib
import socket
import threading
import time

import pytest
import requests
import uvicorn

from beffroi.edge import wsgi
from beffroi.edge.spool import Spool
from beffroi.edge.wsgi import BODY_IN_MEMORY, CONTINUE_HEADER, PREFLIGHT_ENVIRON, RESPONSE_IN_ONE_PIECE, WSGIBridge

LIMIT = 8 << 20


def echo_app(environ, start_response):
    """Takes bodies up to LIMIT; answers the SHA-256 of the body, or a large
    streamed body on GET."""
    if environ.get(PREFLIGHT_ENVIRON):
        if environ["PATH_INFO"] == "/refuse":
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"refused before the body"]
        start_response("204 No Content", [(CONTINUE_HEADER.decode(), str(LIMIT))])
        return []
    if environ["REQUEST_METHOD"] == "POST":
        digest = hashlib.sha256()
        while chunk := environ["wsgi.input"].read(50_000):
            digest.update(chunk)
        body = digest.hexdigest().encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Set-Cookie", " a=b; Path=/")])
        return [body]
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return (bytes([i % 256]) * 100_000 for i in range(30))


class Served:
    def __init__(self, app, *, threads=2, spool_dir=None):
        self.bridge = WSGIBridge(app, threads=threads, spool_dir=spool_dir)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.bridge, lifespan="off", log_level="warning", loop="asyncio", http="h11")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def wait_for_requests(self, count: int) -> None:
        """Until exactly ``count`` requests are in the server's hands (their tasks running)."""
        deadline = time.monotonic() + 10
        while len(self.server.server_state.tasks) != count:
            assert time.monotonic() < deadline, f"{len(self.server.server_state.tasks)} requests, not {count}"
            time.sleep(0.01)

    def raw(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.bridge.close()


@pytest.fixture
def served():
    started = []

    def start(app=echo_app, **kwargs):
        started.append(Served(app, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _read_answer(sock) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    return data


def test_small_and_large_bodies_both_ways(served):
    server = served()
    for size in (0, 10, BODY_IN_MEMORY, BODY_IN_MEMORY + 1, 3_000_000):
        body = bytes(i % 251 for i in range(size))
        response = requests.post(server.url, data=body, timeout=10)
        assert response.text == hashlib.sha256(body).hexdigest()
        assert response.headers["Set-Cookie"] == "a=b; Path=/"
    streamed = requests.get(server.url, timeout=10).content
    assert len(streamed) == 3_000_000 > RESPONSE_IN_ONE_PIECE
    assert streamed[:100_000] == b"\x00" * 100_000 and streamed[-1] == 29


def test_a_chunked_body_is_received_too(served):
    seen = {}

    def app(environ, start_response):
        if environ.get(PREFLIGHT_ENVIRON):
            start_response("204 No Content", [(CONTINUE_HEADER.decode(), str(LIMIT))])
            return []
        seen.update(length=environ.get("CONTENT_LENGTH"), chunked=environ.get("HTTP_TRANSFER_ENCODING"))
        # As Django does: exactly CONTENT_LENGTH bytes.
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [hashlib.sha256(body).hexdigest().encode()]

    server = served(app)
    body = bytes(i % 249 for i in range(2_500_000))
    response = requests.post(server.url, data=iter([body[:1_000_000], body[1_000_000:]]), timeout=10)
    assert response.text == hashlib.sha256(body).hexdigest()
    assert seen == {"length": str(len(body)), "chunked": None}


def test_a_refusal_in_the_preflight_is_answered_before_the_body(served):
    """The route refuses on the headers: the client reads the answer, whether
    it waits for "100 Continue" or sends its body anyway."""
    server = served()
    with server.raw() as sock:
        sock.sendall(b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\nExpect: 100-continue\r\n\r\n")
        answer = _read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 403") and b"100 Continue" not in answer
    response = requests.post(server.url + "/refuse", data=b"x" * 5_000_000, timeout=10)
    assert response.status_code == 403 and response.text == "refused before the body"


def test_a_declared_body_over_the_limit_gets_a_413_answer_not_a_reset(served):
    server = served()
    with server.raw() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (LIMIT + 1))
        sock.sendall(b"y" * 2_000_000)  # a client that starts sending at once
        answer = _read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 413")
    # A chunked body is cut when it passes the limit.
    response = requests.post(server.url, data=iter([b"z" * (LIMIT // 2)] * 3), timeout=10)
    assert response.status_code == 413


def test_a_body_that_stops_arriving_is_given_up(served, monkeypatch):
    monkeypatch.setattr(wsgi, "BODY_IDLE_SECONDS", 0.5)
    called = threading.Event()

    def app(environ, start_response):
        called.set()
        start_response("200 OK", [])
        return [b""]

    server = served(app)
    with server.raw() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
        assert _read_answer(sock).startswith(b"HTTP/1.1 408")
    assert not called.is_set()


def test_a_client_gone_mid_body_never_reaches_the_application(served):
    called = threading.Event()

    def app(environ, start_response):
        if not environ.get(PREFLIGHT_ENVIRON):
            called.set()
        start_response("204 No Content", [(CONTINUE_HEADER.decode(), str(LIMIT))])
        return []

    server = served(app)
    with server.raw() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n" + b"a" * 2_000_000)
        server.wait_for_requests(1)
    server.wait_for_requests(0)  # the request is over: it ended without the application
    assert not called.is_set()
    assert requests.get(server.url, timeout=10).status_code == 204  # the server goes on


def test_no_thread_waits_on_a_slow_client(served):
    """One thread only: an upload trickling in and a download nobody reads
    leave it free for the next request."""

    def app(environ, start_response):
        if environ.get(PREFLIGHT_ENVIRON):
            start_response("204 No Content", [(CONTINUE_HEADER.decode(), str(LIMIT))])
            return []
        if environ["PATH_INFO"] == "/big":
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
            return (b"d" * (1 << 20) for _ in range(64))
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = served(app, threads=1)
    uploading, downloading = server.raw(), server.raw()
    try:
        uploading.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n" + b"u" * 10_000)
        downloading.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        downloading.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        server.wait_for_requests(2)  # both are held: one waits for its body, the other for its reader
        for _ in range(3):
            assert requests.get(server.url + "/page", timeout=10).text == "ok"
    finally:
        uploading.close()
        downloading.close()


def test_a_stream_stops_being_produced_when_the_client_goes(served):
    produced, closed = [], threading.Event()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])

        def pieces():
            try:
                for i in range(1000):
                    produced.append(i)
                    yield b"p" * (1 << 20)
            finally:
                closed.set()

        return pieces()

    server = served(app)
    with server.raw() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(65536)
    assert closed.wait(timeout=10)
    assert len(produced) < 1000


def test_path_info_holds_the_path_bytes_as_latin_1_and_cookies_join_with_semicolons(served):
    seen = {}

    def app(environ, start_response):
        seen["path"], seen["cookie"] = environ["PATH_INFO"], environ.get("HTTP_COOKIE")
        start_response("200 OK", [])
        return [b""]

    server = served(app)
    for raw, expected in ((b"/%E2%82%AC/", "/€/".encode().decode("latin-1")), (b"/%FF/", "/\xff/"),
                          (b"/caf%C3%A9/x?y=1", "/café/x".encode().decode("latin-1"))):
        with server.raw() as sock:
            sock.sendall(b"GET " + raw + b" HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n")
            assert _read_answer(sock).startswith(b"HTTP/1.1 200")
        assert seen == {"path": expected, "cookie": "a=1; b=2"}


def test_a_spooled_body_is_never_on_disk_in_clear(tmp_path):
    pattern = b"beneficiary's document " * 100_000
    spool = Spool(in_memory=1024, directory=tmp_path)
    for start in range(0, len(pattern), 65536):
        spool.write(pattern[start:start + 65536])
    assert spool.on_disk
    spool._file.flush()
    spool._file.seek(0)
    stored = spool._file.read()
    assert len(stored) == len(pattern) and b"beneficiary" not in stored
    assert spool.reader().read() == pattern
    assert list(tmp_path.iterdir()) == []  # the file has no name: nothing is left behind
    spool.close()
