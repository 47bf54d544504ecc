"""Django (WSGI) on a fixed pool of threads, behind the ASGI edge.

Django's ASGI handler starts threads for every request (about 700 req/s per
process on the CI machine); a2wsgi, which also runs WSGI on a pool, measured
2,816 req/s for a bare Django view here. This bridge does one thread hop per
request and nothing else in the common case (4,785 req/s for the same view;
see docs/architecture.md):

- a small request body is read on the event loop before the hop; a large one
  is streamed to Django from the thread, so uploads are never held whole
  (a large read is filled in one hop, and the next one is read ahead);
- a small response is collected in the thread and sent in one message; a
  large or streaming one is sent chunk by chunk, the thread producing the
  next chunk while one is being sent and waiting for it before the next
  (back-pressure), and stops if the client goes away.
"""

import asyncio
import io
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

BODY_IN_MEMORY = 64 * 1024  # request bodies up to this are read before the hop
RESPONSE_IN_ONE_PIECE = 256 * 1024  # responses up to this are sent at once


class ClientGone(OSError):
    """The client went away while its body was being read (an OSError, as a
    broken socket is: Django's request.read() turns it into UnreadablePostError)."""


# A large read (an upload read by the view itself) is filled in one hop to the
# loop rather than one per ASGI message (about 64 KiB each), and the next piece
# is asked for before the thread works on this one: receiving and encrypting
# then overlap.
LARGE_READ = 256 * 1024


class _StreamedInput(io.RawIOBase):
    """``wsgi.input`` for large bodies: pulls ASGI messages from the loop."""

    def __init__(self, receive, loop, first: bytes, more: bool):
        self._receive = receive
        self._loop = loop
        self._buffer = bytearray(first)
        self._more = more
        self._next = None  # the piece asked for ahead (a concurrent future)

    def readable(self) -> bool:
        return True

    async def _gather(self, wanted: int) -> tuple[bytes, bool]:
        """On the loop: messages until ``wanted`` bytes or the end of the body."""
        pieces, size = [], 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            body = message.get("body", b"")
            pieces.append(body)
            size += len(body)
            if not message.get("more_body", False):
                return b"".join(pieces), False
            if size >= wanted:
                return b"".join(pieces), True

    def _pull(self, wanted: int) -> None:
        pending, self._next = self._next, None
        if pending is None:
            pending = asyncio.run_coroutine_threadsafe(self._gather(wanted), self._loop)
        body, self._more = pending.result()
        self._buffer += body
        if self._more and wanted >= LARGE_READ:
            self._next = asyncio.run_coroutine_threadsafe(self._gather(wanted), self._loop)

    def readinto(self, target) -> int:
        while not self._buffer and self._more:
            self._pull(len(target))
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        del self._buffer[:size]
        return size


def _environ(scope, body_stream) -> dict:
    server = scope.get("server") or ("localhost", 80)
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", ""),
        "PATH_INFO": scope["path"],
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]) if server[1] else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body_stream,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
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
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class WSGIBridge:
    def __init__(self, app, *, threads: int):
        self.app = app
        self.threads = threads
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
        chunks, size, more = [], 0, True
        while more and size <= BODY_IN_MEMORY:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        stream = _StreamedInput(receive, loop, body, more) if more else io.BytesIO(body)
        environ = _environ(scope, io.BufferedReader(stream) if more else stream)
        outcome = await loop.run_in_executor(self.pool, self._run, environ, receive, send, loop)
        if outcome is not None:  # small response: send it from the loop
            status, headers, content = outcome
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})

    def _run(self, environ, receive, send, loop):
        """In a pool thread: run Django; return a small response, or stream it."""
        started: dict = {}

        def start_response(status, headers, exc_info=None):
            started["status"] = int(status[:3])
            # Django writes cookies as " name=value" (SimpleCookie.output(header="")).
            started["headers"] = [(k.lower().encode("latin-1"), v.strip().encode("latin-1")) for k, v in headers]

        iterable = self.app(environ, start_response)
        try:
            pieces, size = [], 0
            iterator = iter(iterable)
            for piece in iterator:
                pieces.append(piece)
                size += len(piece)
                if size > RESPONSE_IN_ONE_PIECE:
                    self._stream(started, pieces, iterator, receive, send, loop)
                    return None
            return started["status"], started["headers"], b"".join(pieces)
        except ClientGone:
            return None
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()

    @staticmethod
    def _stream(started, pieces, iterator, receive, send, loop) -> None:
        gone = threading.Event()

        async def watch():
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        def push(message):
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        asyncio.run_coroutine_threadsafe(watch(), loop)

        push({"type": "http.response.start", "status": started["status"], "headers": started["headers"]})
        # One piece in flight while the next is produced (a download decrypts
        # its next chunk while this one goes out); then wait for it, in order.
        sending = asyncio.run_coroutine_threadsafe(
            send({"type": "http.response.body", "body": b"".join(pieces), "more_body": True}), loop
        )
        for piece in iterator:
            if gone.is_set():
                return
            if piece:
                sending.result()
                sending = asyncio.run_coroutine_threadsafe(
                    send({"type": "http.response.body", "body": piece, "more_body": True}), loop
                )
        sending.result()
        push({"type": "http.response.body", "body": b""})
