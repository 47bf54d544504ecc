"""Reads of the event log, run in one dedicated thread per process.

The ORM is synchronous; the hub and the streams live on the event loop, so
every read goes through this single thread (and its single connection).
"""

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import close_old_connections, connections
from django.db.models import Max

from beffroi.realtime.models import Event


@dataclass(slots=True, frozen=True)
class Record:
    id: int
    channel: str
    type: str
    data: str  # JSON text


def _records(queryset) -> list[Record]:
    return [
        Record(id=i, channel=c, type=t, data=json.dumps(d, ensure_ascii=False, separators=(",", ":")))
        for i, c, t, d in queryset.values_list("id", "channel", "type", "data")
    ]


class EventStore:
    def __init__(self):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="realtime-db")

    async def run(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, function, args)

    @staticmethod
    def _call(function, args):
        close_old_connections()
        return function(*args)

    def shutdown(self) -> None:
        self._executor.submit(connections.close_all)
        self._executor.shutdown(wait=True, cancel_futures=False)

    # The functions below run in the store's thread.

    @staticmethod
    def heads() -> tuple[int, dict[str, int]]:
        """The last id overall and per channel."""
        per_channel = dict(Event.objects.values("channel").annotate(last=Max("id")).values_list("channel", "last"))
        return max(per_channel.values(), default=0), per_channel

    @staticmethod
    def after(last_id: int, limit: int) -> list[Record]:
        return _records(Event.objects.filter(id__gt=last_id).order_by("id")[:limit])

    @staticmethod
    def replay(channels: tuple[str, ...], since: int, limit: int) -> tuple[bool, list[Record]]:
        """Events of these channels after ``since``; False when some were purged.

        ``since`` names an event the client received: if it is older than the
        oldest event kept, what followed it may have been purged too.
        """
        first_id = Event.objects.order_by("id").values_list("id", flat=True).first()
        if first_id is not None and 0 < since < first_id:
            return False, []
        return True, _records(Event.objects.filter(channel__in=channels, id__gt=since).order_by("id")[:limit])
