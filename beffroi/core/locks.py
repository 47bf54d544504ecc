"""Serialisation of appends to the ordered logs (journal, event log).

Both logs are read "after id N", so an id must never become visible after a
larger one. SQLite already serialises writers (transactions are IMMEDIATE);
on PostgreSQL a transaction-scoped advisory lock, taken before the row's id is
drawn and held until commit, gives the same guarantee.
"""

from django.db import DEFAULT_DB_ALIAS, connections

APPEND_LOCK_KEY = 0x42_45_46_46  # "BEFF"


def lock_ordered_append(using: str = DEFAULT_DB_ALIAS) -> None:
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("Ordered appends must run inside transaction.atomic().")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK_KEY])
