"""A lean HTTP/1.1 client for the SMS provider's API, on asyncio and httptools.

Like ``notify/push/http.py`` (same parser, same kept-alive connections per
origin), but it returns the answer's body, sends GETs as well as POSTs, and
bounds each request as a whole (connection, sending, answer) by one timeout:
the dispatcher relies on a call never outliving its lease.

A POST is never sent a second time by the client: if the connection breaks,
the caller learns that it does not know whether the provider got the message,
and asks the provider (by the message's tag) before trying again.
"""

import asyncio
import json
import ssl
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools


class HttpError(Exception):
    """No answer: connection refused or lost, timeout, unreadable response."""


class ConnectionClosed(HttpError):
    pass


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes

    def json(self):
        return json.loads(self.body)


class _Connection(asyncio.Protocol):
    """One connection, one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future | None = None
        self.body: list[bytes] = []
        self.open = False
        self.reusable = True

    def connection_made(self, transport):
        self.transport = transport
        self.open = True

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            failure = HttpError("réponse illisible")
            failure.__cause__ = exc
            self._fail(failure)
            self.close()

    def connection_lost(self, exc) -> None:
        self.open = False
        self._fail(ConnectionClosed("connexion fermée par le serveur"))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.reusable = self.parser.should_keep_alive()
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(Response(self.parser.get_status_code(), b"".join(self.body)))

    def _fail(self, exc: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)

    async def exchange(self, data: bytes) -> Response:
        self.answer = self.loop.create_future()
        self.body = []
        try:
            self.transport.write(data)
            return await self.answer
        finally:
            if not (self.answer.done() and not self.answer.cancelled() and self.answer.exception() is None):
                self.close()  # cut short (timeout, error): the answer may still come, never on a later request
            elif not self.reusable:
                self.close()

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()


class HttpClient:
    def __init__(self, *, timeout: float, ssl_context: ssl.SSLContext | None = None):
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.idle: dict[tuple, list[_Connection]] = defaultdict(list)

    async def request(self, method: str, url: str, headers: dict[str, str], body: bytes = b"") -> Response:
        """The answer, or HttpError; the whole exchange within ``timeout``."""
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        origin = (parts.hostname, parts.port or (443 if secure else 80), secure)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        if body or method in {"POST", "PUT"}:
            head.append(f"Content-Length: {len(body)}")
        head += [f"{name}: {value}" for name, value in headers.items()]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        try:
            async with asyncio.timeout(self.timeout):
                connection = self._idle(origin)
                if connection is not None:
                    try:
                        return await self._exchange(origin, connection, data)
                    except ConnectionClosed:
                        if method != "GET":
                            raise  # the server may have acted on it: the caller must check
                return await self._exchange(origin, await self._connect(origin), data)
        except TimeoutError:
            raise HttpError("délai dépassé") from None

    def _idle(self, origin) -> _Connection | None:
        pool = self.idle[origin]
        while pool:
            connection = pool.pop()
            if connection.open:
                return connection
        return None

    async def _connect(self, origin) -> _Connection:
        host, port, secure = origin
        loop = asyncio.get_running_loop()
        if secure and self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        context = self.ssl_context if secure else None
        try:
            _transport, connection = await loop.create_connection(
                lambda: _Connection(loop), host, port, ssl=context, server_hostname=host if secure else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise HttpError("connexion impossible") from exc
        return connection

    async def _exchange(self, origin, connection: _Connection, data: bytes) -> Response:
        response = await connection.exchange(data)
        if connection.open:
            self.idle[origin].append(connection)
        return response

    def close(self) -> None:
        for pool in self.idle.values():
            for connection in pool:
                connection.close()
        self.idle.clear()
