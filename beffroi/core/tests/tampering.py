"""What someone with direct access to the database does to the journal."""

from django.db import connection


def tamper(sql: str, params=()) -> None:
    """Run ``sql`` past the journal's trigger, as a superuser could on PostgreSQL."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
