"""The one HTTP/1.1 client of every outgoing call: Web Push services and the SMS provider.

Hand-written on asyncio protocols and httptools (uvicorn's parser) because
httpx, the library of choice, could not hold the push target: bench/webpush.py
measures both on the same 5,000 pushes (docs/benchmarks.md, section (c)).

What it promises, whoever calls it:

- One deadline bounds a whole exchange: connection, proxy tunnel, TLS
  handshake, request, answer. Past it, on any error, and on cancellation, the
  connection is aborted at once (unsent bytes dropped): no socket outlives a
  failed request, and a late answer can never pass for the answer to a later
  request.
- A request is written once. A kept-alive connection is used again only if
  the server has not closed it meanwhile, which is checked just before
  writing (its socket must have nothing to read). Once written, a request
  whose answer does not come is a ``MaybeSent`` error, never sent again: only
  the caller knows whether trying again is safe (a push is retried later by
  its job; an SMS is looked up by its tag first). ``NotSent`` means that it
  provably never left (no connection, refused tunnel, failed handshake).
- Answers are bounded: a head of ``MAX_HEAD`` bytes, a body of ``max_body``;
  beyond, the answer is an error and the connection is closed.
- Redirects are never followed: a 3xx is a status like any other, so a push
  endpoint checked against PUSH_ALLOWED_HOSTS cannot send the server elsewhere.
- With a proxy (OUTBOUND_PROXY, ``http://[user:password@]host:port``), every
  connection is a CONNECT tunnel to the origin, TLS inside it: the proxy sees
  host names, never requests.
"""

import asyncio
import base64
import json
import select
import ssl
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httptools

MAX_HEAD = 16 * 1024  # status line and headers of an answer, or of a proxy's answer to CONNECT


class HttpError(Exception):
    """No answer."""


class NotSent(HttpError):
    """The request never left: no connection, refused tunnel, failed handshake, invalid request."""


class MaybeSent(HttpError):
    """The request was written but no whole answer came: the server may have acted on it."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    port: int
    authorization: str  # "Proxy-Authorization: …\r\n", or ""


def parse_proxy(url: str) -> Proxy | None:
    """OUTBOUND_PROXY as a Proxy; None if empty; ValueError if it is not ``http://host:port``."""
    if not url:
        return None
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port or 80
    except ValueError:
        host = port = None
    if parts.scheme != "http" or not host or parts.path not in ("", "/") or parts.query:
        raise ValueError("OUTBOUND_PROXY must read http://host:port (optionally http://user:password@host:port)")
    authorization = ""
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = f"Proxy-Authorization: Basic {base64.b64encode(credentials).decode()}\r\n"
    return Proxy(host, port, authorization)


class _Connection(asyncio.Protocol):
    """One connection, one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_body: int):
        self.loop = loop
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.poller: select.poll | None = None
        self.open = False
        self.reusable = False
        self.parser: httptools.HttpResponseParser | None = None
        self.answer: asyncio.Future | None = None
        self.tunnel: bytearray | None = None  # the proxy's answer to CONNECT, while it is awaited
        self._reset()

    def _reset(self) -> None:
        self.body: list[bytes] = []
        self.body_size = 0
        self.head_size = 0
        self.received_before_head = 0
        self.head_done = False
        self.framed = False  # Content-Length or chunked: else the body ends when the connection does

    # asyncio.Protocol

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.open = True
        # Polled before each reuse: an idle connection the server closed (or
        # wrote to) is readable. One poll object per connection: one syscall per check.
        self.poller = select.poll()
        self.poller.register(transport.get_extra_info("socket").fileno(), select.POLLIN)

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self._tunnel_data(data)
            return
        if self.answer is None or self.answer.done():
            self.abort()  # unasked for: this connection can no longer be trusted to frame answers
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(MaybeSent(f"réponse illisible ({exc})"))
            return
        if not self.head_done:
            # What the parser holds while a header is incomplete.
            self.received_before_head += len(data)
            if self.received_before_head > MAX_HEAD:
                self._fail(MaybeSent("en-têtes de réponse trop longs"))

    def eof_received(self):
        return None  # let the transport close; connection_lost follows

    def connection_lost(self, exc) -> None:
        self.open = False
        if self.tunnel is not None:
            self._fail(NotSent("connexion au mandataire fermée"))
        elif exc is None and self.head_done and not self.framed and self.answer is not None and not self.answer.done():
            # A body without length ends with the connection (RFC 9112, 6.3), if it ends cleanly.
            self.answer.set_result(Response(self.parser.get_status_code(), b"".join(self.body)))
        else:
            self._fail(MaybeSent("connexion fermée avant la réponse"))

    # httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(name) + len(value) + 4
        if self.head_size > MAX_HEAD:
            self._fail(MaybeSent("en-têtes de réponse trop longs"))
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self.framed = True

    def on_headers_complete(self) -> None:
        self.head_done = True
        status = self.parser.get_status_code()
        if status < 200 or status in (204, 304):
            self.framed = True  # no body

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        if self.body_size > self.max_body:
            self._fail(MaybeSent(f"réponse de plus de {self.max_body} octets"))
        else:
            self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            self._reset()  # 1xx (100 Continue, 103 Early Hints): the answer follows
            return
        self.reusable = self.parser.should_keep_alive()
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(Response(status, b"".join(self.body)))

    # The proxy's answer to CONNECT

    def _tunnel_data(self, data: bytes) -> None:
        self.tunnel += data
        end = self.tunnel.find(b"\r\n\r\n")
        if end < 0:
            if len(self.tunnel) > MAX_HEAD:
                self._fail(NotSent("réponse du mandataire trop longue"))
            return
        if end + 4 != len(self.tunnel):
            self._fail(NotSent("réponse du mandataire illisible"))  # nothing may follow before we speak
            return
        status_line = bytes(self.tunnel[: self.tunnel.find(b"\r\n")]).split(b" ", 2)
        self.tunnel = None
        if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1.") or not status_line[1].isdigit():
            self._fail(NotSent("réponse du mandataire illisible"))
        elif not 200 <= int(status_line[1]) < 300:
            self._fail(NotSent(f"tunnel refusé par le mandataire (HTTP {int(status_line[1])})"))
        elif not self.answer.done():
            self.answer.set_result(None)

    async def open_tunnel(self, request: bytes) -> None:
        self.tunnel = bytearray()
        self.answer = self.loop.create_future()
        self.transport.write(request)
        await self.answer

    # Use

    def fresh(self) -> bool:
        """Still open, and nothing to read: the server has not closed it."""
        return self.open and not self.poller.poll(0)

    def start(self, transport) -> None:
        """Speak HTTP on ``transport`` (the connection's own, or TLS inside the tunnel)."""
        self.transport = transport
        self.parser = httptools.HttpResponseParser(self)

    async def exchange(self, data: bytes, deadline: float) -> Response:
        """Write the request, await its answer until ``deadline`` (``loop.time()``)."""
        if self.loop.time() >= deadline:
            raise NotSent("délai dépassé")
        self._reset()
        self.answer = self.loop.create_future()
        self.reusable = False
        # A loop timer, not asyncio.timeout(): a third of the client's own CPU time per request.
        timer = self.loop.call_at(deadline, self._expire)
        try:
            self.transport.write(data)
            return await self.answer
        finally:
            timer.cancel()

    def _expire(self) -> None:
        self._fail(MaybeSent("délai dépassé"))

    def _fail(self, exc: HttpError) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)
        self.abort()

    def abort(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.abort()


class HttpClient:
    """Kept-alive connections per origin; any number of exchanges at once (the caller bounds them)."""

    def __init__(
        self, *, timeout: float, max_body: int, proxy: str = "", ssl_context: ssl.SSLContext | None = None
    ):
        self.timeout = timeout
        self.max_body = max_body
        self.proxy = parse_proxy(proxy)
        self.ssl_context = ssl_context
        self.idle: dict[tuple, list[_Connection]] = defaultdict(list)

    async def request(self, method: str, url: str, headers: dict[str, str], body: bytes = b"") -> Response:
        """The answer, ``NotSent`` or ``MaybeSent``; the whole exchange within ``timeout``."""
        origin, data = _request_bytes(method, url, headers, body)
        deadline = asyncio.get_running_loop().time() + self.timeout
        connection = self._idle(origin)
        if connection is None:
            try:
                async with asyncio.timeout_at(deadline):
                    connection = await self._connect(origin)
            except TimeoutError:
                raise NotSent("délai dépassé") from None
        try:
            response = await connection.exchange(data, deadline)
        except BaseException:  # timeout, error, or the caller's cancellation
            connection.abort()
            raise
        if connection.reusable and connection.fresh():
            self.idle[origin].append(connection)
        else:
            connection.abort()
        return response

    def _idle(self, origin) -> _Connection | None:
        pool = self.idle[origin]
        while pool:
            connection = pool.pop()
            if connection.fresh():
                return connection
            connection.abort()
        return None

    async def _connect(self, origin) -> _Connection:
        host, port, secure = origin
        loop = asyncio.get_running_loop()
        if secure and self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        tls = self.ssl_context if secure else None
        connection = _Connection(loop, self.max_body)
        try:
            if self.proxy is None:
                await loop.create_connection(lambda: connection, host, port, ssl=tls, server_hostname=host if tls else None)
                connection.start(connection.transport)
            else:
                await loop.create_connection(lambda: connection, self.proxy.host, self.proxy.port)
                authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                connect = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{self.proxy.authorization}\r\n"
                await connection.open_tunnel(connect.encode("latin-1"))
                transport = connection.transport
                if tls:
                    transport = await loop.start_tls(transport, connection, tls, server_hostname=host)
                connection.start(transport)
        except BaseException as exc:
            connection.abort()
            if isinstance(exc, (OSError, ssl.SSLError)):
                raise NotSent(f"connexion impossible ({exc})") from exc
            raise
        return connection

    def close(self) -> None:
        for pool in self.idle.values():
            for connection in pool:
                connection.abort()
        self.idle.clear()


def _request_bytes(method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[tuple, bytes]:
    """The origin to connect to and the request as written; NotSent if it cannot be written safely."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    try:
        host, port = parts.hostname, parts.port or (443 if secure else 80)
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        raise NotSent("adresse invalide")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = "\r\n".join(lines)
    # Nothing from a URL or a value may start a new header or request.
    if head.count("\r") != len(lines) - 1 or "\n" in head.replace("\r\n", "") or " " in target:
        raise NotSent("requête invalide (caractères de contrôle)")
    try:
        return (host, port, secure), (head + "\r\n\r\n").encode("latin-1") + body
    except UnicodeEncodeError:
        raise NotSent("requête invalide (caractères non permis)") from None
