"""A lean HTTP/1.1 client for one job: POSTing encrypted messages to push services.

aiohttp took a third of the sender's time (URL objects, header multidicts,
response objects, per-request timers) for requests that are all alike: a
POST of a few hundred bytes whose answer is only a status code. Here a
request is one formatted bytes write on a kept-alive connection, and the
answer is parsed by httptools (uvicorn's parser), chunked bodies included.
Measured in bench/webpush.py; see docs/benchmarks.md.

Connections are per origin, reused while the server keeps them alive; a
request on a reused connection that the server had meanwhile closed is sent
once more on a fresh one.
"""

import asyncio
import ssl
from collections import defaultdict
from urllib.parse import urlsplit

import httptools


class PushHTTPError(Exception):
    """No HTTP answer: connection refused or lost, timeout, unreadable response."""


class ConnectionClosed(PushHTTPError):
    """The server closed the connection before answering."""


class _Connection(asyncio.Protocol):
    """One connection, one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future | None = None
        self.open = False
        self.reusable = True

    # asyncio.Protocol
    def connection_made(self, transport):
        self.transport = transport
        self.open = True

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(PushHTTPError(f"réponse illisible : {exc}"))
            self.transport.close()

    def connection_lost(self, exc) -> None:
        self.open = False
        self._fail(ConnectionClosed("connexion fermée par le service"))

    # httptools callbacks
    def on_message_complete(self) -> None:
        self.reusable = self.parser.should_keep_alive()
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(self.parser.get_status_code())

    def _fail(self, exc: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)

    async def request(self, data: bytes, timeout: float) -> int:
        self.answer = self.loop.create_future()
        timer = self.loop.call_later(timeout, self._fail, PushHTTPError("délai dépassé"))
        try:
            self.transport.write(data)
            return await self.answer
        finally:
            timer.cancel()
            if not self.reusable:
                self.transport.close()
                self.open = False


class PushClient:
    def __init__(self, *, timeout: float = 15.0, ssl_context: ssl.SSLContext | None = None):
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.idle: dict[tuple, list[_Connection]] = defaultdict(list)

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """POST ``body``; the answer's status code, or PushHTTPError."""
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        host, port = parts.hostname, parts.port or (443 if secure else 80)
        origin = (host, port, secure)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        head = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body

        connection = self._idle(origin)
        if connection is not None:
            try:
                return await self._send(origin, connection, data)
            except ConnectionClosed:
                pass  # closed while idle: once more, on a fresh connection
        return await self._send(origin, await self._connect(origin), data)

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
        try:
            _transport, connection = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(loop),
                    host,
                    port,
                    ssl=self.ssl_context if secure else None,
                    server_hostname=host if secure else None,
                ),
                self.timeout,
            )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise PushHTTPError(f"connexion impossible : {exc}") from exc
        return connection

    async def _send(self, origin, connection: _Connection, data: bytes) -> int:
        status = await connection.request(data, self.timeout)
        if connection.open:
            self.idle[origin].append(connection)
        return status

    def close(self) -> None:
        for pool in self.idle.values():
            for connection in pool:
                if connection.transport is not None:
                    connection.transport.close()
        self.idle.clear()
