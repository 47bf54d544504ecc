from itertools import pairwise

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from beffroi.core import journal
from beffroi.core.models import JournalEntry


def _record(actor, organisation, n):
    for i in range(n):
        with transaction.atomic():
            journal.record(actor=actor, organisation=organisation, action="test.action", target=organisation, data={"i": i})


@pytest.fixture
def chain(commune, administrator):
    _record(administrator, commune, 5)
    return list(JournalEntry.objects.order_by("seq"))


def test_each_entry_carries_the_hash_of_the_previous_one(chain, administrator, commune):
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == journal.GENESIS_HASH
    for previous, entry in pairwise(chain):
        assert entry.prev_hash == previous.hash
        assert entry.hash == journal.entry_hash(entry)
    assert chain[2].actor_id == administrator.pk
    assert chain[2].organisation_id == commune.pk
    assert chain[2].object_type == "core.organisation"
    assert administrator.email in chain[2].actor_label


def test_verify_journal_accepts_an_intact_chain(chain, capsys):
    call_command("verify_journal")
    assert "5 entrée(s) vérifiée(s)" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused(commune, administrator):
    with pytest.raises(RuntimeError):
        journal.record(actor=administrator, organisation=commune, action="x")


def _tamper(sql, params):
    """Alter the table as someone with direct database access would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A superuser can switch triggers off; the chain still tells.
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def test_an_altered_row_is_named(chain):
    _tamper("UPDATE core_journalentry SET data = %s WHERE seq = %s", ['{"i": 99}', 3])
    with pytest.raises(CommandError, match="entrée n° 3 : le contenu"):
        call_command("verify_journal")


def test_a_deleted_row_is_named(chain):
    _tamper("DELETE FROM core_journalentry WHERE seq = %s", [2])
    with pytest.raises(CommandError, match="entrée n° 2 : entrée n° 2 absente"):
        call_command("verify_journal")


def test_a_rewritten_chain_is_caught_at_the_first_rewritten_link(chain):
    # Rewriting a row and its own hash still breaks the next row's link.
    entry = chain[1]
    entry.action = "forged"
    forged_hash = journal.entry_hash(entry)
    _tamper("UPDATE core_journalentry SET action = %s, hash = %s WHERE seq = %s", ["forged", forged_hash, 2])
    with pytest.raises(CommandError, match="entrée n° 3 : l’entrée n° 3 ne suit pas"):
        call_command("verify_journal")


def test_postgresql_itself_refuses_changes_to_the_journal(commune, administrator):
    """On PostgreSQL a trigger refuses UPDATE and DELETE. SQLite (the embedded
    default) has no such guard: there the hash chain, tested above, is the
    protection, and the migration installs nothing."""
    _record(administrator, commune, 1)
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'core_journalentry'")
            assert cursor.fetchone()[0] == 0
        return
    for statement in ["UPDATE core_journalentry SET action = 'x'", "DELETE FROM core_journalentry"]:
        with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)
    assert JournalEntry.objects.filter(action="test.action").count() == 1


def test_actions_read_in_french():
    from beffroi.core.journal_labels import action_label

    assert action_label("sector.create") == "Quartier : création"
    assert action_label("post.withdraw") == "Publication : retrait"
    assert action_label("inconnu.chose") == "inconnu.chose"
