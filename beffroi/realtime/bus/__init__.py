"""How a web process learns that events were committed.

- in-process (embedded default): the publishing process wakes its own hub at
  commit; events written by other processes (the worker) are found by a short
  poll of the event log.
- postgres: one LISTEN connection per web process; PostgreSQL delivers the
  NOTIFY sent by ``publish`` at commit, whichever process wrote the event. A
  slow poll stays on as a safety net.

Either way the hub then reads the log "after the last id it dispatched", so a
wake-up can be lost or doubled without losing or doubling an event.
"""

_hub = None


def attach(hub) -> None:
    global _hub
    _hub = hub


def detach(hub) -> None:
    global _hub
    if _hub is hub:
        _hub = None


def running_hub():
    """This process's hub, if it runs (web processes), else None."""
    hub = _hub
    return hub if hub is not None and hub.ready.is_set() else None


def channel_head(channel: str) -> int:
    """The last event of a channel, for a page to follow its stream from there
    (nothing published between the rendering and the connection is lost).

    In a web process the hub knows it (kept current at once for this
    process's commits and on PostgreSQL, within a poll otherwise); elsewhere
    it is one indexed query.
    """
    hub = running_hub()
    if hub is not None:
        return hub.channel_heads.get(channel, 0)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(id) FROM realtime_event WHERE channel = %s", [channel])
        return cursor.fetchone()[0] or 0


def wake_local() -> None:
    """Wake this process's hub, from any thread (called on commit)."""
    hub = _hub
    if hub is not None:
        hub.poke_threadsafe()
