"""Server-Sent Events, served beside Django rather than through it.

Django's ASGI handler costs an OS thread per open request; a stream here costs
one small object. Events reach a stream without waking its task: the hub
writes each frame straight into the connection (see ``Stream.deliver``).

Replay: the stream subscribes first and buffers what the hub delivers, then
reads the log after ``Last-Event-ID`` (or ``?since=``), sends it, and flushes
the buffer, dropping ids already sent. A reconnecting client, or one whose
server restarted, thus loses no event and receives none twice.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from beffroi.realtime.hub import KEEPALIVE_FRAME, Hub, sse_frame

logger = logging.getLogger(__name__)

REPLAY_LIMIT = 1000
BACKLOG_LIMIT = 256  # frames waiting for a slow client before it is cut off
RESET_FRAME = b"event: reset\ndata: {}\n\n"
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-store, no-transform"),
    (b"x-accel-buffering", b"no"),
    (b"x-content-type-options", b"nosniff"),
]


def _body(frame: bytes) -> dict:
    return {"type": "http.response.body", "body": frame, "more_body": True}


class _Finish:
    """Awaitable that runs to its end a coroutine already started by hand.

    ``Stream.deliver`` steps the server's ``send()`` coroutine synchronously;
    in the rare case it must wait (the socket's buffer is full), the rest of
    it is handed to a task through this object.
    """

    __slots__ = ("coro", "future")

    def __init__(self, coro, future):
        self.coro = coro
        self.future = future

    def __await__(self):
        coro, value = self.coro, self.future
        while True:
            try:
                result = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # passed on into the coroutine
                try:
                    value = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    value = coro.send(result)
                except StopIteration:
                    return


class Stream:
    __slots__ = ("send", "last_id", "buffer", "stalled", "closed")

    def __init__(self, send):
        self.send = send
        self.last_id = 0
        # While not None, frames are queued here: during replay, or while
        # a write waits for the socket to drain.
        self.buffer: list[tuple[int | None, bytes]] | None = []
        self.stalled = False
        self.closed = False

    def deliver(self, event_id: int, frame: bytes) -> None:
        if self.closed:
            return
        if self.buffer is not None:
            self.buffer.append((event_id, frame))
            if self.stalled and len(self.buffer) > BACKLOG_LIMIT:
                self.closed = True  # too slow to follow; see _drain
                self.buffer = None
            return
        if event_id <= self.last_id:
            return
        self.last_id = event_id
        self._write(frame)

    def ping(self) -> None:
        if not self.closed and self.buffer is None:
            self._write(KEEPALIVE_FRAME)

    def _write(self, frame: bytes) -> None:
        coro = self.send(_body(frame))
        try:
            future = coro.send(None)
        except StopIteration:
            return
        except Exception:
            self.closed = True
            return
        # The socket is full: finish this write in a task, queue the rest.
        self.stalled = True
        self.buffer = []
        asyncio.ensure_future(self._drain(_Finish(coro, future)))

    async def _drain(self, pending) -> None:
        try:
            await pending
            if self.closed:
                # Cut off while stalled: end the response; the client
                # reconnects and replays what it missed.
                await self.send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await self.flush()
        except Exception:
            self.closed = True
        finally:
            self.stalled = False

    async def flush(self) -> None:
        """Send what was buffered, then go live."""
        while self.buffer:
            batch, self.buffer = self.buffer, []
            for event_id, frame in batch:
                if event_id is not None:
                    if event_id <= self.last_id:
                        continue
                    self.last_id = event_id
                await self.send(_body(frame))
        self.buffer = None


# A resolver maps a request to the channels it may follow, or to an HTTP error.
Resolver = Callable[[dict], Awaitable[tuple[str, ...] | tuple[int, str]]]


def _last_event_id(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"last-event-id":
            return _as_id(value.decode("latin-1"))
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("since")
    return _as_id(values[0]) if values else None


def _as_id(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


async def _error(send, status: int, message: str) -> None:
    body = message.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class StreamsApp:
    """ASGI app for ``/flux/...`` paths."""

    def __init__(self, hub: Hub, routes: dict[str, Resolver]):
        self.hub = hub
        self.routes = routes

    async def __call__(self, scope, receive, send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            return await _error(send, 405, "Méthode non autorisée : ce flux se lit avec GET.")
        resolver = self.routes.get(scope["path"])
        if resolver is None:
            return await _error(send, 404, "Flux inconnu.")
        resolved = await resolver(scope)
        if resolved and isinstance(resolved[0], int):
            return await _error(send, *resolved)
        channels: tuple[str, ...] = resolved
        await self.hub.ready.wait()
        await self.serve(channels, scope, receive, send)

    async def serve(self, channels, scope, receive, send) -> None:
        hub = self.hub
        stream = Stream(send)
        since = _last_event_id(scope)
        hub.subscribe(channels, stream)  # before reading the log: nothing falls in between
        try:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
            await send(_body(b"retry: 2000\n\n"))
            if scope["method"] == "HEAD":
                return
            if since is not None:
                stream.last_id = since
                if since < hub.head(channels):
                    complete, records = await hub.store.run(hub.store.replay, channels, since, REPLAY_LIMIT + 1)
                    if not complete or len(records) > REPLAY_LIMIT:
                        # Too far behind: the page reloads rather than replaying it all.
                        await send(_body(RESET_FRAME))
                        stream.last_id = hub.head(channels)
                    else:
                        for record in records:
                            stream.last_id = record.id
                            await send(_body(sse_frame(record)))
            await stream.flush()
            while not stream.closed:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
        except asyncio.CancelledError:
            # The server cuts open streams when it stops: an expected end. End
            # the response properly; the client reconnects and replays.
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        finally:
            stream.closed = True
            hub.unsubscribe(channels, stream)
