"""Small real servers for the HTTP client's tests: a scripted HTTP/1.1 server and a CONNECT proxy.

Both listen on 127.0.0.1, on the test's own event loop or from a thread of
their own, and count what reaches them: a test can say how many requests a
server received and whether the client closed its connection.
"""

import asyncio
import concurrent.futures
import contextlib
import datetime
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
JSON = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ids":[7]}'
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[1,2\r\n2\r\n,3\r\n1\r\n]\r\n0\r\n\r\n"

# Scripted behaviours, beside canned answers (bytes):
DROP = "drop"  # read the request, then close without answering
SILENT = "silent"  # read the request, never answer, wait for the client to close
ENDLESS = "endless"  # answer 200 with a chunked body that never ends


@dataclass(frozen=True)
class ThenClose:
    """Answer, then close the connection at once (whatever the answer announced)."""

    answer: bytes = CREATED



@dataclass(frozen=True)
class CloseWhenTold:
    """Answer 201 (keep-alive), then close once ``told`` is set; ``closed`` is set then.

    For a server in its own thread (``Server.in_thread``): the test can keep
    its own event loop from running while the server closes.
    """

    told: threading.Event = field(default_factory=threading.Event)
    closed: threading.Event = field(default_factory=threading.Event)


class Serving:
    """Serving on the test's event loop (``await start()``), or from a thread of its own (``with in_thread()``)."""

    async def start(self) -> str:
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop listening, end the connections still open, and let their handlers finish."""
        self.listener.close()
        handlers = getattr(self, "handlers", set())
        for writer in getattr(self, "writers", set()):
            writer.transport.abort()
        if handlers:
            await asyncio.wait(handlers, timeout=5)

    def _serving(self, writer) -> None:
        """Called first by each connection's handler."""
        if not hasattr(self, "writers"):
            self.writers, self.handlers = set(), set()
        self.writers.add(writer)
        self.handlers.add(asyncio.current_task())

    @contextlib.contextmanager
    def in_thread(self):
        """Serve from a thread of its own, with its own event loop; yields the base URL."""
        loop = asyncio.new_event_loop()
        started = concurrent.futures.Future()

        def serve():
            asyncio.set_event_loop(loop)
            self.changed = asyncio.Event()  # bound to this loop
            started.set_result(loop.run_until_complete(self.start()))
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield started.result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)


@dataclass
class Server(Serving):
    """Answers each request with the next item of ``script``."""

    script: list
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    closed_by_client: int = 0  # connections whose client closed them (EOF or reset) while the server waited
    ended: int = 0  # connections over, whoever closed them
    ssl_context: ssl.SSLContext | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> str:
        self.listener = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl_context)
        port = self.listener.sockets[0].getsockname()[1]
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{port}"

    async def wait_for(self, condition, timeout: float = 5.0) -> None:
        """Until ``condition()`` holds (raises TimeoutError if it never does)."""
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()

    def _note(self) -> None:
        self.changed.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._serving(writer)
        self.connections += 1
        self._note()
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                self.requests.append(head + await reader.readexactly(length))
                self._note()
                action = self.script.pop(0)
                if action == DROP:
                    break
                if action == SILENT:
                    await self._until_client_closes(reader)
                    return
                if action == ENDLESS:
                    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    while True:
                        writer.write(b"400\r\n" + b"x" * 1024 + b"\r\n")
                        await writer.drain()
                if isinstance(action, CloseWhenTold):
                    writer.write(CREATED)
                    await writer.drain()
                    await asyncio.to_thread(action.told.wait)
                    writer.close()
                    await writer.wait_closed()
                    action.closed.set()
                    break
                if isinstance(action, ThenClose):
                    writer.write(action.answer)
                    await writer.drain()
                    break
                writer.write(action)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self.ended += 1
            self._note()

    async def _until_client_closes(self, reader) -> None:
        try:
            await reader.read()  # b"" at EOF
        except ConnectionError:
            pass
        self.closed_by_client += 1
        self._note()


@dataclass
class ConnectProxy(Serving):
    """An HTTP proxy that only tunnels (CONNECT), as outbound proxies of hosting providers do.

    ``refuse``: a status to answer every CONNECT with instead of tunnelling.
    """

    refuse: int | None = None
    tunnels: list[str] = field(default_factory=list)  # the authorities asked for
    authorizations: list[str] = field(default_factory=list)

    async def start(self) -> str:
        self.listener = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.listener.sockets[0].getsockname()[1]}"

    async def _handle(self, reader, writer) -> None:
        self._serving(writer)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        method, authority, _ = head.split(" ", 2)
        self.authorizations += [line.split(":", 1)[1].strip() for line in head.split("\r\n") if line.lower().startswith("proxy-authorization:")]
        if method != "CONNECT" or self.refuse:
            writer.write(f"HTTP/1.1 {self.refuse or 405} No\r\nContent-Length: 0\r\n\r\n".encode())
            writer.close()
            return
        self.tunnels.append(authority)
        host, port = authority.rsplit(":", 1)
        target_reader, target_writer = await asyncio.open_connection(host.strip("[]"), int(port))
        self.writers.add(target_writer)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(source, sink):
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except ConnectionError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, target_writer), pipe(target_reader, writer))


def self_signed(tmp_path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for 127.0.0.1, and a client context that trusts it."""
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
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return server, ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
