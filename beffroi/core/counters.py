"""Abuse counters kept in the database: exact, atomic, and keyed by a keyed hash.

Windows are fixed and open at the first counted attempt. "N per hour" lets a
client make N attempts from its first one, then refuses it until an hour has
passed since that first attempt (refused attempts do not extend the window).
So a client never gets more than N in the hour that starts with its first
attempt; at the turn of a window it can get up to 2N within a short time (the
end of one window, the start of the next), never more. An exact sliding
window would need a row per attempt, and a log of each client's times.

Counting is one SQL statement (INSERT … ON CONFLICT … DO UPDATE … RETURNING,
the same on SQLite ≥ 3.35 and PostgreSQL): concurrent requests, in one process
or several, each get their own count, and a window that has ended restarts in
the same statement. The table holds one row per client and scope.

Keys are an HMAC-SHA-256 of the scope and the client, under a key derived
from SECRET_KEY for this purpose alone (Django's ``salted_hmac``), which is
not in the database: the table holds no address, no login, and a copy of it
does not let anyone test an address against it. A client is its IPv4
address, or its IPv6 /64 (one subscriber's network: a host can change its
address within it at will). The daily job deletes rows whose window has ended
(``purge``), and the expired rows of Django's database cache (``purge_cache``),
which Django itself only removes when the table is full.
"""

import ipaddress
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac

from beffroi.core.models import Counter

# Clients whose address does not parse share one bucket.
UNKNOWN_CLIENT = "?"
_HMAC_PURPOSE = "beffroi.core.counters"


def clock() -> datetime:
    """The counters' time; tests put a controlled clock here."""
    return timezone.now()


def client_network(request) -> str:
    """The caller as counters see it: an IPv4 address, an IPv6 /64, or UNKNOWN_CLIENT.

    REMOTE_ADDR only: behind nginx, uvicorn's --proxy-headers sets it; a
    forwarding header sent by the client itself is never trusted.
    """
    raw = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return UNKNOWN_CLIENT
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # an IPv4 client of a dual-stack socket
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def digest(scope: str, identity: str) -> str:
    """The key of ``identity``'s counter in ``scope`` (64 hex digits)."""
    return salted_hmac(_HMAC_PURPOSE, f"{scope}\n{identity}", algorithm="sha256").hexdigest()


def client_digest(request, scope: str) -> str:
    return digest(scope, client_network(request))


def hit(key: str, *, window_seconds: int, now: datetime | None = None) -> int:
    """Count one attempt under ``key``; return the attempts of the current
    window, this one included (1 when the window opens)."""
    now = now or clock()
    ops = connection.ops
    table, key_col, count, expires, not_before = (
        ops.quote_name(name) for name in (Counter._meta.db_table, "key", "count", "expires_at", "not_before")
    )
    ended = f"{table}.{expires} <= %s"
    # Only quoted identifiers are interpolated; every value is a parameter.
    sql = (
        f"INSERT INTO {table} ({key_col}, {count}, {expires}) VALUES (%s, 1, %s) "  # noqa: S608
        f"ON CONFLICT ({key_col}) DO UPDATE SET "
        f"{count} = CASE WHEN {ended} THEN 1 ELSE {table}.{count} + 1 END, "
        f"{expires} = CASE WHEN {ended} THEN excluded.{expires} ELSE {table}.{expires} END, "
        f"{not_before} = CASE WHEN {ended} THEN NULL ELSE {table}.{not_before} END "
        f"RETURNING {count}"
    )
    at = ops.adapt_datetimefield_value(now)
    until = ops.adapt_datetimefield_value(now + timedelta(seconds=window_seconds))
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, until, at, at, at])
        return cursor.fetchone()[0]


def purge(now: datetime | None = None) -> int:
    """Delete the counters whose window has ended; the number deleted."""
    return Counter.objects.filter(expires_at__lte=now or clock()).delete()[0]


def purge_cache(now: datetime | None = None) -> int:
    """Delete the expired entries of the database caches (rows that Django's
    DatabaseCache only removes when it is full); the number deleted."""
    from django.core.cache import caches
    from django.core.cache.backends.db import DatabaseCache

    now = (now or timezone.now()).replace(microsecond=0)  # the cache stores whole seconds
    deleted = 0
    for alias, config in settings.CACHES.items():
        if not isinstance(caches[alias], DatabaseCache):
            continue
        table, expires = connection.ops.quote_name(config["LOCATION"]), connection.ops.quote_name("expires")
        with connection.cursor() as cursor:
            # The table name comes from the settings, not from a request.
            cursor.execute(f"DELETE FROM {table} WHERE {expires} < %s",  # noqa: S608
                           [connection.ops.adapt_datetimefield_value(now)])
            deleted += cursor.rowcount
    return deleted
