"""Django (WSGI) on a fixed pool of threads, behind the ASGI edge.

The threads do work (templates, queries, encryption); they never wait on the
network, so a few clients on a weak mobile connection cannot hold them:

- the request body is received whole by the event loop before Django runs:
  in memory when small, beyond that in a spool file encrypted with a key that
  lives only in memory (``beffroi.edge.spool``);
- a body larger than ``BODY_IN_MEMORY``, or of unknown length, is announced
  to Django first without its bytes (a *preflight*, ``beffroi.edge.bodies``):
  the route says how large a body it takes and may refuse (sign-in, rights,
  quota) before a byte of it is received; a refusal is answered at once and
  the rest of the body read and dropped for a few seconds, so that the client
  reads the answer instead of a reset connection;
- a small response is collected by the thread and sent in one message; a
  large or streaming one is sent by the loop piece by piece, the thread
  producing the next piece while this one goes out, and stopping when the
  client goes away.

One thread hop per request in the common case: measured against a2wsgi and
Django's own handlers in bench/bridge.py (docs/benchmarks.md).

The pieces of a streamed response, and its close (Django's request_finished),
run on whichever pool thread is free: a streaming generator may query the
database between pieces (each thread has its own connection), but must not
keep a cursor or a transaction open from one piece to the next.
"""

import asyncio
import io
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from django.db import connections

from beffroi.edge.spool import Spool

BODY_IN_MEMORY = 1 << 20  # bodies up to this are received without a preflight
RESPONSE_IN_ONE_PIECE = 256 * 1024  # responses up to this are sent at once
FILE_BLOCK = 256 * 1024  # pieces of a file response (Django's default is 4 KiB)
BODY_IDLE_SECONDS = 60.0  # a body that stops arriving for this long is given up
DRAIN_SECONDS = 10.0  # after a refusal, how long the rest of a body is read and dropped
DRAIN_BYTES = 64 << 20

# The preflight protocol (see beffroi.edge.bodies for Django's side).
PREFLIGHT_ENVIRON = "beffroi.preflight"
CONTINUE_HEADER = b"x-edge-continue"

_END = object()


@dataclass(slots=True)
class _Outcome:
    status: int
    headers: list
    body: bytes
    iterator: object = None  # the rest of a large response, produced in the pool
    iterable: object = None  # closed once the rest is sent


def _path_info(scope) -> str:
    """WSGI wants the path's bytes, percent-decoded, as Latin-1 (PEP 3333):
    "/€/" arrives as UTF-8 bytes and "/%FF/" as a byte that is no UTF-8."""
    raw = scope.get("raw_path")
    if raw is None:
        return scope["path"].encode("utf-8", "surrogateescape").decode("latin-1")
    return unquote_to_bytes(raw.split(b"?", 1)[0]).decode("latin-1")


def _environ(scope, body) -> dict:
    server = scope.get("server") or ("localhost", 80)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", ""),
        "PATH_INFO": _path_info(scope),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]) if server[1] else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": FileWrapper,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1")
        if "_" in name:
            continue  # "x_forwarded_for" must not pass for "x-forwarded-for"
        key = name.upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        if key in environ:
            # RFC 9110 joins repeated fields with ","; cookies are joined with "; " (RFC 6265).
            value = f"{environ[key]}; {value}" if key == "HTTP_COOKIE" else f"{environ[key]},{value}"
        environ[key] = value
    return environ


def _declared_length(scope) -> int | None:
    """The body's announced length: 0 without one, None when it is chunked."""
    length = 0
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
        elif name == b"transfer-encoding":
            return None
    return length


class FileWrapper:
    """``wsgi.file_wrapper``: files (photos, static files) go out in large pieces."""

    def __init__(self, file, block_size=FILE_BLOCK):
        self.file = file
        self.block_size = max(block_size, FILE_BLOCK)

    def __iter__(self):
        return self

    def __next__(self):
        data = self.file.read(self.block_size)
        if data:
            return data
        raise StopIteration

    def close(self):
        close = getattr(self.file, "close", None)
        if close is not None:
            close()


def _next_piece(iterator):
    return next(iterator, _END)


def _close(iterable) -> None:
    close = getattr(iterable, "close", None)
    if close is not None:
        close()


def _plain(status: int, text: str) -> tuple[int, list, bytes]:
    body = text.encode()
    return status, [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())], body


class WSGIBridge:
    def __init__(self, app, *, threads: int, spool_dir=None):
        self.app = app
        self.threads = threads
        self.spool_dir = spool_dir
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="django")

    def close(self) -> None:
        """Close each pool thread's database connection, then the pool."""
        barrier = threading.Barrier(self.threads)

        def close_connections():
            connections.close_all()
            barrier.wait(timeout=10)

        for _ in range(self.threads):
            self.pool.submit(close_connections)
        self.pool.shutdown(wait=True)

    async def __call__(self, scope, receive, send) -> None:
        loop = asyncio.get_running_loop()
        length = _declared_length(scope)
        limit = BODY_IN_MEMORY
        if length is None or length > BODY_IN_MEMORY:
            # Django decides on the headers alone whether this body is wanted.
            verdict = await loop.run_in_executor(self.pool, self._run, _environ(scope, io.BytesIO()), True)
            limit = _continue_limit(verdict)
            if limit is None or (length is not None and length > limit):
                if limit is not None:  # the route's limit without the route's own refusal
                    verdict = _Outcome(*_plain(413, "Contenu trop volumineux."))
                await self._answer_and_drain(verdict, receive, send)
                return
        spool = Spool(in_memory=BODY_IN_MEMORY, directory=self.spool_dir)
        try:
            refusal = await self._receive_body(spool, limit, receive)
            if refusal == "gone":
                return
            if refusal is not None:
                await self._answer_and_drain(_Outcome(*refusal), receive, send)
                return
            environ = _environ(scope, spool.reader())
            # Django reads exactly CONTENT_LENGTH bytes: a chunked body has its length now.
            environ["CONTENT_LENGTH"] = str(spool.size)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            outcome = await loop.run_in_executor(self.pool, self._run, environ, False)
        finally:
            spool.close()
        if outcome.iterator is None:
            await send({"type": "http.response.start", "status": outcome.status, "headers": outcome.headers})
            await send({"type": "http.response.body", "body": outcome.body})
            return
        await self._stream(outcome, receive, send, loop)

    async def _receive_body(self, spool: Spool, limit: int, receive):
        """On the loop, the whole body into the spool; None once done, else
        "gone" or a refusal (status, headers, body)."""
        while True:
            try:
                message = await asyncio.wait_for(receive(), BODY_IDLE_SECONDS)
            except TimeoutError:
                return _plain(408, "L’envoi s’est interrompu trop longtemps : réessayez.")
            if message["type"] == "http.disconnect":
                return "gone"
            chunk = message.get("body", b"")
            if spool.size + len(chunk) > limit:
                return _plain(413, "Contenu trop volumineux.")
            spool.write(chunk)
            if not message.get("more_body", False):
                return None

    async def _answer_and_drain(self, outcome: _Outcome, receive, send) -> None:
        """Answer before the body is read, then read and drop what the client
        still sends for a while: closing at once would reset the connection
        under a client still sending, which then never sees the answer."""
        await send({"type": "http.response.start", "status": outcome.status, "headers": outcome.headers})
        await send({"type": "http.response.body", "body": outcome.body, "more_body": True})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        dropped = 0
        while dropped < DRAIN_BYTES:
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                message = await asyncio.wait_for(receive(), left)
            except TimeoutError:
                break
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                break
            dropped += len(message.get("body", b""))
        await send({"type": "http.response.body", "body": b""})
        if outcome.iterable is not None:
            await loop.run_in_executor(self.pool, _close, outcome.iterable)

    def _run(self, environ, preflight: bool) -> _Outcome:
        """In a pool thread: run Django; a small response whole, or its start."""
        if preflight:
            environ[PREFLIGHT_ENVIRON] = True
        started: dict = {}

        def start_response(status, headers, exc_info=None):
            started["status"] = int(status[:3])
            # Django writes cookies as " name=value" (SimpleCookie.output(header="")).
            started["headers"] = [(k.lower().encode("latin-1"), v.strip().encode("latin-1")) for k, v in headers]

        iterable = self.app(environ, start_response)
        pieces, size = [], 0
        try:
            iterator = iter(iterable)
            for piece in iterator:
                pieces.append(piece)
                size += len(piece)
                if size > RESPONSE_IN_ONE_PIECE:
                    return _Outcome(started["status"], started["headers"], b"".join(pieces), iterator, iterable)
        except BaseException:
            _close(iterable)
            raise
        _close(iterable)
        return _Outcome(started["status"], started["headers"], b"".join(pieces))

    async def _stream(self, outcome: _Outcome, receive, send, loop) -> None:
        gone = asyncio.Event()

        async def watch():
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        upcoming = None
        try:
            await send({"type": "http.response.start", "status": outcome.status, "headers": outcome.headers})
            piece = outcome.body
            while True:
                # The next piece is produced while this one goes out.
                upcoming = loop.run_in_executor(self.pool, _next_piece, outcome.iterator)
                if piece:
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
                piece = await upcoming
                upcoming = None
                if piece is _END or gone.is_set():
                    break
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b""})
        finally:
            watcher.cancel()
            if upcoming is not None:  # a generator cannot be closed while it runs
                await asyncio.wait([upcoming])
            await loop.run_in_executor(self.pool, _close, outcome.iterable)


def _continue_limit(outcome: _Outcome) -> int | None:
    """The body size the route accepts, if the preflight said to go on."""
    for name, value in outcome.headers:
        if name == CONTINUE_HEADER:
            return int(value)
    return None
