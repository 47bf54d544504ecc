"""Publishing an event: from any process, visible at commit, never before.

The event row is written in the transaction of the change it announces, so a
rolled-back change announces nothing. Open streams are woken at commit: by
PostgreSQL itself (NOTIFY is delivered at commit), or, with the in-process
bus, by an on-commit hook; other processes on SQLite find it by polling.
"""

from django.db import connection, transaction

from beffroi.core.locks import lock_ordered_append
from beffroi.realtime import bus
from beffroi.realtime.models import Event

NOTIFY_CHANNEL = "beffroi_events"


def publish(*, channel: str, type: str, data: dict) -> Event:
    with transaction.atomic():
        lock_ordered_append()
        event = Event.objects.create(channel=channel, type=type, data=data)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [NOTIFY_CHANNEL, str(event.id)])
        transaction.on_commit(bus.wake_local)
    return event
