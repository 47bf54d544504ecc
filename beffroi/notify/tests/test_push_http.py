"""The push HTTP client against small real servers: reuse, closes, chunks, TLS, timeouts."""

import asyncio
import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from beffroi.notify.push.http import PushClient, PushHTTPError

CHUNKED = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
PLAIN = b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
CLOSING = b"HTTP/1.1 410 Gone\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Server:
    """Answers each complete request with the next canned response."""

    def __init__(self, answers, *, close_after_each=False, silent=False):
        self.answers = list(answers)
        self.close_after_each = close_after_each
        self.silent = silent
        self.connections = 0
        self.requests = []

    async def handle(self, reader, writer):
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
                self.requests.append((head, await reader.readexactly(length)))
                if self.silent:
                    await asyncio.sleep(10)
                writer.write(self.answers.pop(0))
                await writer.drain()
                if self.close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        writer.close()


async def _serve(server, ssl_context=None):
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=ssl_context)
    return listener, listener.sockets[0].getsockname()[1]


def test_requests_reuse_one_connection_and_read_chunked_answers():
    async def scenario():
        server = Server([PLAIN, CHUNKED, PLAIN])
        listener, port = await _serve(server)
        client = PushClient()
        statuses = [await client.post(f"http://127.0.0.1:{port}/push/{i}?x=1", {"TTL": "60"}, b"corps") for i in range(3)]
        client.close()
        listener.close()
        return statuses, server

    statuses, server = asyncio.run(scenario())
    assert statuses == [201, 201, 201]
    assert server.connections == 1
    head, body = server.requests[0]
    assert head.startswith(b"POST /push/0?x=1 HTTP/1.1\r\n") and b"\r\nTTL: 60\r\n" in head and body == b"corps"


def test_a_connection_the_server_closes_is_not_reused():
    async def scenario():
        server = Server([CLOSING, PLAIN, PLAIN], close_after_each=True)
        listener, port = await _serve(server)
        client = PushClient()
        statuses = [await client.post(f"http://127.0.0.1:{port}/p", {}, b"x") for _ in range(3)]
        client.close()
        listener.close()
        return statuses, server.connections

    assert asyncio.run(scenario()) == ([410, 201, 201], 3)


def test_no_answer_is_an_error_not_a_status():
    async def scenario():
        silent = Server([PLAIN], silent=True)
        listener, port = await _serve(silent)
        client = PushClient(timeout=0.3)
        with pytest.raises(PushHTTPError, match="délai"):
            await client.post(f"http://127.0.0.1:{port}/p", {}, b"x")
        listener.close()
        await listener.wait_closed()
        with pytest.raises(PushHTTPError, match="connexion impossible"):
            await PushClient(timeout=1).post(f"http://127.0.0.1:{port}/p", {}, b"x")

    asyncio.run(scenario())


def _self_signed():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_cert = certificate.public_bytes(serialization.Encoding.PEM)
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem_cert, pem_key


def test_https_push_services_are_verified(tmp_path):
    pem_cert, pem_key = _self_signed()
    (tmp_path / "cert.pem").write_bytes(pem_cert)
    (tmp_path / "key.pem").write_bytes(pem_key)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    async def scenario():
        listener, port = await _serve(Server([PLAIN]), server_context)
        url = f"https://127.0.0.1:{port}/p"
        # An unknown certificate is refused...
        with pytest.raises(PushHTTPError, match="connexion impossible"):
            await PushClient(timeout=2).post(url, {}, b"x")
        # ...one we trust is used.
        trusting = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        status = await PushClient(ssl_context=trusting, timeout=2).post(url, {}, b"x")
        listener.close()
        return status

    assert asyncio.run(scenario()) == 201
