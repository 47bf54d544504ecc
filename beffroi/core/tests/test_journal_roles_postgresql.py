"""The runtime role of docs/deploy.md, on PostgreSQL: it adds to the journal
and reads it, and can do nothing else to it.

Collected only when the suite runs on PostgreSQL (``conftest.py``:
``collect_ignore``); on SQLite there are no roles, and the chain of MACs and
the anchors (``test_journal.py``) are the whole protection.

A throwaway role is created with ``CREATE ROLE … LOGIN`` as the
documentation's first block does, then given its privileges by running the
documentation's own SQL block (``runtime-role-grants``) against the test
database, whose tables the test's user owns. The tests then log in as that
role, over a real connection.
"""

import re
import secrets
from contextlib import contextmanager

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction
from psycopg import errors, sql

from beffroi.core import journal
from beffroi.core.models import JournalEntry, Organisation

DEPLOY_DOC = settings.BASE_DIR / "docs" / "deploy.md"


def documented_block(marker: str) -> str:
    text = DEPLOY_DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {marker} -->\n```sql\n(.*?)```", text, flags=re.DOTALL)
    assert match, f"no SQL block marked {marker} in docs/deploy.md"
    return match[1]


def documented_statements(marker: str, *, owner: str, runtime: str, database: str) -> list[str]:
    """The block's statements with psql's variables replaced, as psql does:
    ``\\set`` lines give values, ``:"name"`` quotes one as an identifier."""
    values = {"DBNAME": database}
    lines = []
    for line in documented_block(marker).splitlines():
        if line.startswith("\\set "):
            _, name, value = line.split()
            values[name] = value
        elif not line.startswith("--"):
            lines.append(line)
    assert values.keys() == {"DBNAME", "owner", "runtime"}
    values.update(owner=owner, runtime=runtime)
    text = re.sub(r':"(\w+)"', lambda m: '"' + values[m[1]].replace('"', '""') + '"', "\n".join(lines))
    return [statement.strip() for statement in text.split(";") if statement.strip()]


def _dsn(**overrides) -> str:
    params = connection.settings_dict
    parts = {
        "host": params["HOST"] or "127.0.0.1",
        "port": params["PORT"] or "5432",
        "dbname": params["NAME"],
        "user": params["USER"],
        "password": params["PASSWORD"] or "",
        **overrides,
    }
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in parts.items() if v})


def _grant(runtime: str) -> None:
    statements = documented_statements(
        "runtime-role-grants",
        owner=connection.settings_dict["USER"],
        runtime=runtime,
        database=connection.settings_dict["NAME"],
    )
    with psycopg.connect(_dsn(), autocommit=True) as admin:
        for statement in statements:
            admin.execute(statement)


@pytest.fixture
def runtime_role(transactional_db):
    """A committed login role (the tests connect as it), dropped afterwards."""
    name = f"beffroi_test_runtime_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    with psycopg.connect(_dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
    try:
        yield name, password
    finally:
        connection.close()
        with psycopg.connect(_dsn(), autocommit=True) as admin:
            # Revokes its privileges, default privileges included, in this database.
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@contextmanager
def django_connected_as(name: str, password: str):
    """Django's own connection, logged in as ``name``, for code under test."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(USER=name, PASSWORD=password)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def _record(n: int = 1) -> None:
    for i in range(n):
        with transaction.atomic():
            journal.record(actor=None, action="test.action", data={"i": i})


FORBIDDEN = [
    "UPDATE core_journalentry SET action = 'forged'",
    "DELETE FROM core_journalentry",
    "TRUNCATE core_journalentry",
    "ALTER TABLE core_journalentry DISABLE TRIGGER journal_append_only",
    "ALTER TABLE core_journalentry DISABLE TRIGGER ALL",
    "DROP TRIGGER journal_append_only ON core_journalentry",
    "DROP TABLE core_journalentry",
    "ALTER TABLE core_journalentry RENAME TO core_journalentry_old",
    "CREATE TRIGGER forge BEFORE INSERT ON core_journalentry FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
    "SET session_replication_role = replica",
    "CREATE TABLE core_journalentry_copy (id bigint)",
]


def test_the_runtime_role_adds_to_the_journal_and_can_do_nothing_else_to_it(runtime_role):
    name, password = runtime_role
    _record(2)  # as the owner, before
    _grant(name)

    with django_connected_as(name, password):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == name
        _record(2)  # record(): the advisory lock, SELECT, INSERT
        assert journal.verify_chain().broken is None
        # Full DML on the other tables.
        organisation = Organisation.objects.create(kind="commune", name="Douvrin", slug="douvrin")
        Organisation.objects.filter(pk=organisation.pk).update(name="Douvrin-lez-Lens")
        Organisation.objects.filter(pk=organisation.pk).delete()

    with psycopg.connect(_dsn(user=name, password=password), autocommit=True) as runtime:
        for statement in FORBIDDEN:
            with pytest.raises(errors.InsufficientPrivilege) as refused:
                runtime.execute(statement)
            # Refused by the privileges, before the trigger (whose error has the same code).
            assert "ajout seul" not in str(refused.value), statement
        assert runtime.execute("SELECT count(*) FROM core_journalentry").fetchone()[0] == 4

    assert list(JournalEntry.objects.order_by("seq").values_list("action", flat=True)) == ["test.action"] * 4
    assert journal.verify_chain().broken is None


def test_tables_the_owner_creates_later_are_open_to_the_runtime_role(runtime_role):
    """ALTER DEFAULT PRIVILEGES: a table from a later migration needs no new grant."""
    name, password = runtime_role
    _grant(name)
    with psycopg.connect(_dsn(), autocommit=True) as owner:
        owner.execute("CREATE TABLE beffroi_later_table (id bigint GENERATED BY DEFAULT AS IDENTITY, label text)")
    try:
        with psycopg.connect(_dsn(user=name, password=password), autocommit=True) as runtime:
            runtime.execute("INSERT INTO beffroi_later_table (label) VALUES ('a')")
            runtime.execute("UPDATE beffroi_later_table SET label = 'b'")
            runtime.execute("DELETE FROM beffroi_later_table")
            with pytest.raises(errors.InsufficientPrivilege):
                runtime.execute("DROP TABLE beffroi_later_table")
    finally:
        with psycopg.connect(_dsn(), autocommit=True) as owner:
            owner.execute("DROP TABLE beffroi_later_table")


def test_the_migration_takes_back_what_was_granted_on_the_journal(runtime_role):
    """Migration core 0006: UPDATE, DELETE, TRUNCATE on the journal granted to
    any role but the owner are revoked (a grant on ALL TABLES run again...)."""
    from importlib import import_module

    name, password = runtime_role
    _grant(name)
    with psycopg.connect(_dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("GRANT ALL ON core_journalentry TO {}").format(sql.Identifier(name)))
        admin.execute(import_module("beffroi.core.migrations.0006_journal_runtime_grants").REVOKE)
    _record(1)
    with psycopg.connect(_dsn(user=name, password=password), autocommit=True) as runtime:
        for statement in ["UPDATE core_journalentry SET action = 'forged'", "TRUNCATE core_journalentry"]:
            with pytest.raises(errors.InsufficientPrivilege) as refused:
                runtime.execute(statement)
            assert "ajout seul" not in str(refused.value), statement
        runtime.execute("SELECT count(*) FROM core_journalentry")


def test_the_documented_block_is_what_the_tests_run():
    statements = documented_statements("runtime-role-grants", owner="o", runtime="r", database="d")
    assert 'REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER ON core_journalentry FROM "r"' in statements
    assert any(s.startswith('ALTER DEFAULT PRIVILEGES FOR ROLE "o"') for s in statements)
