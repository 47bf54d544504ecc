"""The WSGI bridge: bodies small and large, in and out, through uvicorn."""

import hashlib
import socket
import threading
import time

import requests
import uvicorn

from beffroi.edge.wsgi import BODY_IN_MEMORY, RESPONSE_IN_ONE_PIECE, WSGIBridge


def echo_app(environ, start_response):
    """Answers the SHA-256 of the body, or a large streamed body on GET."""
    if environ["REQUEST_METHOD"] == "POST":
        digest = hashlib.sha256()
        while chunk := environ["wsgi.input"].read(50_000):
            digest.update(chunk)
        body = digest.hexdigest().encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Set-Cookie", " a=b; Path=/")])
        return [body]
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return (bytes([i % 256]) * 100_000 for i in range(30))


def _serve(app):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", loop="asyncio", http="h11"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


def test_small_and_large_bodies_both_ways():
    bridge = WSGIBridge(echo_app, threads=2)
    server, thread, url = _serve(bridge)
    try:
        for size in (0, 10, BODY_IN_MEMORY + 1, 3_000_000):
            body = bytes(i % 251 for i in range(size))
            response = requests.post(url, data=body, timeout=10)
            assert response.text == hashlib.sha256(body).hexdigest()
            assert response.headers["Set-Cookie"] == "a=b; Path=/"
        streamed = requests.get(url, timeout=10).content
        assert len(streamed) == 3_000_000 > RESPONSE_IN_ONE_PIECE
        assert streamed[:100_000] == b"\x00" * 100_000 and streamed[-1] == 29
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        bridge.close()


def test_large_reads_are_read_ahead_and_a_client_gone_is_an_os_error():
    """An application reading 1 MiB at a time (as the safe's upload does) gets
    whole pieces, in order; a client that goes away mid-body is an OSError."""
    seen = {"sizes": [], "gone": threading.Event()}

    def reader(environ, start_response):
        digest = hashlib.sha256()
        try:
            while chunk := environ["wsgi.input"].read(1 << 20):
                seen["sizes"].append(len(chunk))
                digest.update(chunk)
        except OSError:
            seen["gone"].set()
            raise
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [digest.hexdigest().encode()]

    bridge = WSGIBridge(reader, threads=2)
    server, thread, url = _serve(bridge)
    try:
        body = bytes(i % 253 for i in range(5 * (1 << 20) + 12345))
        assert requests.post(url, data=body, timeout=10).text == hashlib.sha256(body).hexdigest()
        assert seen["sizes"] == [1 << 20] * 5 + [12345]
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000\r\n\r\n" + b"a" * 3_000_000)
        assert seen["gone"].wait(timeout=10)
        # The server goes on.
        assert requests.post(url, data=b"abc", timeout=10).text == hashlib.sha256(b"abc").hexdigest()
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        bridge.close()
