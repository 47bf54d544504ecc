"""The per-process hub: reads new events from the log and fans them out.

One hub runs on the event loop of each web process. Whatever wakes it (a
local commit, a NOTIFY, the poll), it reads the log after the last id it has
dispatched and hands each event, encoded once, to the streams of its channel
and to in-process listeners (the page cache).
"""

import asyncio
import logging
from collections.abc import Callable

from django.conf import settings

from beffroi.realtime import bus
from beffroi.realtime.store import EventStore, Record

logger = logging.getLogger(__name__)

FETCH_LIMIT = 500
KEEPALIVE_FRAME = b": ping\n\n"


def sse_frame(record: Record) -> bytes:
    return f"id: {record.id}\nevent: {record.type}\ndata: {record.data}\n\n".encode()


class Hub:
    def __init__(self, *, store: EventStore | None = None, poll_seconds: float, keepalive_seconds: float, backend: str):
        self.store = store or EventStore()
        self.poll_seconds = poll_seconds
        self.keepalive_seconds = keepalive_seconds
        self.backend = backend
        self.subscribers: dict[str, set] = {}
        self.streams: set = set()
        self.listeners: list[Callable[[list[Record]], None]] = []
        self.last_id = 0
        self.channel_heads: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._dirty = False
        self._draining = False
        self._tasks: list[asyncio.Task] = []
        self.ready = asyncio.Event()

    @classmethod
    def from_settings(cls) -> "Hub":
        return cls(
            poll_seconds=settings.REALTIME_POLL_SECONDS,
            keepalive_seconds=settings.SSE_KEEPALIVE_SECONDS,
            backend=settings.REALTIME_BUS,
        )

    # Life cycle -------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.last_id, self.channel_heads = await self.store.run(self.store.heads)
        bus.attach(self)
        self._tasks = [
            asyncio.create_task(self._every(self.poll_seconds, self.poke)),
            asyncio.create_task(self._every(self.keepalive_seconds, self._keepalive)),
        ]
        if self.backend == "postgres":
            from beffroi.realtime.bus.postgres import listen

            self._tasks.append(asyncio.create_task(listen(self)))
        self.ready.set()

    async def stop(self) -> None:
        bus.detach(self)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.store.shutdown()

    @staticmethod
    async def _every(seconds: float, function) -> None:
        while True:
            await asyncio.sleep(seconds)
            function()

    # Subscriptions ----------------------------------------------------------

    def subscribe(self, channels: tuple[str, ...], stream) -> None:
        self.streams.add(stream)
        for channel in channels:
            self.subscribers.setdefault(channel, set()).add(stream)

    def unsubscribe(self, channels: tuple[str, ...], stream) -> None:
        self.streams.discard(stream)
        for channel in channels:
            streams = self.subscribers.get(channel)
            if streams is not None:
                streams.discard(stream)
                if not streams:
                    del self.subscribers[channel]

    def head(self, channels: tuple[str, ...]) -> int:
        return max((self.channel_heads.get(c, 0) for c in channels), default=0)

    # Wake-ups and dispatch --------------------------------------------------

    def poke_threadsafe(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.poke)

    def poke(self) -> None:
        self._dirty = True
        if not self._draining:
            self._draining = True
            self._loop.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._dirty:
                self._dirty = False
                records = await self.store.run(self.store.after, self.last_id, FETCH_LIMIT)
                if records:
                    self.dispatch(records)
                    if len(records) == FETCH_LIMIT:
                        self._dirty = True
        except Exception:
            # The next poll tries again from the same id: nothing is lost.
            logger.exception("Lecture du journal d’événements impossible")
        finally:
            self._draining = False

    def dispatch(self, records: list[Record]) -> None:
        for record in records:
            streams = self.subscribers.get(record.channel)
            if streams:
                frame = sse_frame(record)
                for stream in list(streams):
                    stream.deliver(record.id, frame)
            self.channel_heads[record.channel] = record.id
        self.last_id = records[-1].id
        for listener in self.listeners:
            try:
                listener(records)
            except Exception:
                logger.exception("Erreur d’un abonné interne du hub")

    def _keepalive(self) -> None:
        for stream in list(self.streams):
            stream.ping()
