"""The journal's chain of MACs, its keys and its anchors, on any database.

The attacker of these tests has a copy of the database, or write access to it
(``_tamper`` switches PostgreSQL's trigger off as a superuser could), but not
the key: the runtime role's own limits are tested on PostgreSQL in
``test_journal_roles_postgresql.py``.
"""

import hashlib
import json
from importlib import import_module
from io import StringIO
from itertools import pairwise
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.db.migrations.loader import MigrationLoader

from beffroi.core import journal, journal_anchors
from beffroi.core.journal_keys import JournalKeyError, journal_keys, new_key_item, parse
from beffroi.core.models import JournalEntry
from beffroi.core.tests.tampering import tamper


def _record(actor, organisation, n):
    for i in range(n):
        with transaction.atomic():
            journal.record(actor=actor, organisation=organisation, action="test.action", target=organisation, data={"i": i})


@pytest.fixture
def chain(commune, administrator):
    _record(administrator, commune, 5)
    return list(JournalEntry.objects.order_by("seq"))


def _rewrite(entries, sign):
    """Store ``entries`` (changed in memory) with each link recomputed by ``sign``."""
    previous = JournalEntry.objects.filter(seq=entries[0].seq - 1).values_list("mac", flat=True).first()
    previous = previous or journal.GENESIS_MAC
    for entry in entries:
        entry.prev_mac = previous
        entry.mac = sign(entry)
        tamper(
            "UPDATE core_journalentry SET action = %s, data = %s, prev_mac = %s, mac = %s WHERE seq = %s",
            [entry.action, json.dumps(entry.data), entry.prev_mac, entry.mac, entry.seq],
        )
        previous = entry.mac


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _verify(*args) -> str:
    return _run("verify_journal", *args)


# --- The chain -------------------------------------------------------------------


def test_each_entry_carries_the_mac_of_the_previous_one(chain, administrator, commune):
    key = journal_keys().get("j1")
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_mac == journal.GENESIS_MAC
    for previous, entry in pairwise(chain):
        assert entry.prev_mac == previous.mac
    for entry in chain:
        assert entry.key_id == "j1"
        assert entry.mac == journal.entry_mac(entry, key)
        # A keyed MAC, not the plain hash of the same content.
        assert entry.mac != journal.legacy_hash(entry)
    assert chain[2].actor_id == administrator.pk
    assert chain[2].organisation_id == commune.pk
    assert chain[2].object_type == "core.organisation"
    assert administrator.email in chain[2].actor_label


def test_verify_journal_accepts_an_intact_chain(chain):
    out = _verify()
    assert "5 entrée(s) vérifiée(s)" in out
    assert "Aucune ancre" in out


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused(commune, administrator):
    with pytest.raises(RuntimeError):
        journal.record(actor=administrator, organisation=commune, action="x")


def test_an_altered_row_is_named(chain):
    tamper("UPDATE core_journalentry SET data = %s WHERE seq = %s", ['{"i": 99}', 3])
    with pytest.raises(CommandError, match="entrée n° 3 : le contenu"):
        call_command("verify_journal")


def test_a_deleted_row_is_named(chain):
    tamper("DELETE FROM core_journalentry WHERE seq = %s", [2])
    with pytest.raises(CommandError, match="entrée n° 2 : entrée n° 2 absente"):
        call_command("verify_journal")


def test_a_row_rewritten_with_its_own_mac_breaks_the_next_link(chain):
    entry = chain[1]
    entry.action = "forged"
    tamper("UPDATE core_journalentry SET action = %s WHERE seq = %s", ["forged", 2])
    with pytest.raises(CommandError, match="entrée n° 2 : le contenu"):
        call_command("verify_journal")


def test_recomputing_plain_hashes_after_an_alteration_is_caught(chain):
    """The attack that the unkeyed chain let through: alter a row, then
    recompute the SHA-256 of every entry from there on."""
    forged = chain[2:]
    forged[0].data = {"i": 99}
    _rewrite(forged, journal.legacy_hash)
    with pytest.raises(CommandError, match="entrée n° 3 : le contenu de l’entrée n° 3 a été modifié"):
        call_command("verify_journal")


def test_recomputing_the_macs_needs_the_key(chain):
    forged = chain[2:]
    forged[0].data = {"i": 99}
    # Same key id, another secret: what anyone without the key can do.
    wrong = parse(new_key_item("j1")).get("j1")
    _rewrite(forged, lambda entry: journal.entry_mac(entry, wrong))
    with pytest.raises(CommandError, match="entrée n° 3 : le contenu de l’entrée n° 3 a été modifié"):
        call_command("verify_journal")


def test_with_the_key_the_same_rewrite_would_pass(chain):
    """The control of the test above: the key, and nothing else, stops it
    (hence the key outside the database, and the anchors)."""
    forged = chain[2:]
    forged[0].data = {"i": 99}
    key = journal_keys().get("j1")
    _rewrite(forged, lambda entry: journal.entry_mac(entry, key))
    assert "5 entrée(s) vérifiée(s)" in _verify()


def test_a_swapped_key_id_is_caught(chain, settings):
    settings.JOURNAL_KEYS = f"{new_key_item('j2')},{settings.JOURNAL_KEYS}"
    tamper("UPDATE core_journalentry SET key_id = %s WHERE seq = %s", ["j2", 4])
    with pytest.raises(CommandError, match="entrée n° 4 : le contenu"):
        call_command("verify_journal")


def test_an_entry_signed_by_an_unknown_key_is_named(chain, settings):
    settings.JOURNAL_KEYS = new_key_item("j9")
    with pytest.raises(CommandError, match="entrée n° 1 : l’entrée n° 1 est signée par la clé « j1 », absente"):
        call_command("verify_journal")


# --- Rotation ----------------------------------------------------------------------


def test_after_a_rotation_new_entries_use_the_new_key_and_old_ones_still_verify(chain, settings, commune):
    settings.JOURNAL_KEYS = f"{new_key_item('j2')},{settings.JOURNAL_KEYS}"
    _record(None, commune, 2)
    assert list(JournalEntry.objects.order_by("seq").values_list("key_id", flat=True)) == ["j1"] * 5 + ["j2"] * 2
    assert "7 entrée(s) vérifiée(s)" in _verify()


def test_a_former_key_cannot_sign_after_the_new_one(chain, settings, commune):
    """Whoever still holds a former key cannot rewrite what the new one signed."""
    old_keys = settings.JOURNAL_KEYS
    settings.JOURNAL_KEYS = f"{new_key_item('j2')},{old_keys}"
    _record(None, commune, 2)
    last = JournalEntry.objects.get(seq=7)
    last.data, last.key_id = {"forged": True}, "j1"
    old_key = parse(old_keys).get("j1")
    tamper("UPDATE core_journalentry SET key_id = %s WHERE seq = %s", ["j1", 7])
    _rewrite([last], lambda entry: journal.entry_mac(entry, old_key))
    with pytest.raises(CommandError, match="entrée n° 7 : l’entrée n° 7 est signée par une clé plus ancienne"):
        call_command("verify_journal")


def test_a_machine_with_another_key_refuses_to_extend_the_chain(chain, settings, commune):
    """A second machine whose key was generated on its own (or differs) would
    write entries that never verify: it refuses at its first write."""
    settings.JOURNAL_KEYS = new_key_item("j1")
    with pytest.raises(JournalKeyError, match="ne se vérifie pas avec la clé « j1 »"), transaction.atomic():
        journal.record(actor=None, action="test.action")
    settings.JOURNAL_KEYS = new_key_item("j0")
    with pytest.raises(JournalKeyError, match="signée par la clé « j1 », absente de JOURNAL_KEYS"), transaction.atomic():
        journal.record(actor=None, action="test.action")
    assert JournalEntry.objects.count() == 5


def test_an_unsigned_entry_appended_behind_the_application_is_caught_and_not_signed_over(chain):
    forged = JournalEntry(
        seq=6, at=chain[-1].at, actor_label="Système", action="forged", data={}, prev_mac=chain[-1].mac
    )
    forged.mac = journal.legacy_hash(forged)  # a valid plain hash: only the missing key tells
    tamper(
        "INSERT INTO core_journalentry (seq, at, actor_label, action, object_type, object_id, object_label, data,"
        " prev_mac, mac, key_id) VALUES (%s, %s, %s, %s, '', '', '', %s, %s, %s, '')",
        [6, forged.at, forged.actor_label, forged.action, "{}", forged.prev_mac, forged.mac],
    )
    with pytest.raises(CommandError, match="entrée n° 6 : l’entrée n° 6 n’est pas signée alors que des entrées signées"):
        call_command("verify_journal")
    with pytest.raises(JournalKeyError, match="n° 6\\) n’est pas signée alors que d’autres le sont"), transaction.atomic():
        journal.record(actor=None, action="test.action")
    assert JournalEntry.objects.count() == 6


# --- Keys ----------------------------------------------------------------------------


def test_malformed_keys_are_refused_without_quoting_them(settings):
    for text in ["j1:short", "j1", "j1:" + "x" * 40 + ",j1:" + "y" * 40, "é:" + "x" * 40]:
        with pytest.raises(JournalKeyError, match="JOURNAL_KEYS mal formée") as raised:
            parse(text)
        assert "x" * 40 not in str(raised.value) and "short" not in str(raised.value)
    keys = parse(f"{new_key_item('j2')}, {new_key_item('j1')}")
    assert keys.current_id == "j2" and keys.age("j2") > keys.age("j1")


def test_without_keys_one_is_generated_under_the_var_dir_and_kept(settings, tmp_path):
    settings.JOURNAL_KEYS = ""
    settings.VAR_DIR = tmp_path / "var"
    keys = journal_keys()
    path = tmp_path / "var" / "secrets" / "journal_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert keys.current_id == "j1" and keys.get("j1") == path.read_text().encode()
    assert journal_keys() == keys


def _generate_after(barrier, path, results):
    from beffroi.core.journal_keys import _generated_secret

    barrier.wait()
    results.put(_generated_secret(path))


def test_processes_starting_together_generate_one_key(tmp_path):
    """The web processes and the worker of `make run` start together: all of
    them must read the same, complete key."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    path = tmp_path / "secrets" / "journal_key"
    barrier, results = context.Barrier(8), context.Queue()
    processes = [context.Process(target=_generate_after, args=(barrier, path, results)) for _ in range(8)]
    for process in processes:
        process.start()
    keys = {results.get(timeout=60) for _ in processes}
    for process in processes:
        process.join(timeout=60)
    assert [process.exitcode for process in processes] == [0] * 8
    assert keys == {path.read_text()} and len(path.read_text()) == 43
    assert [p.name for p in path.parent.iterdir()] == ["journal_key"]  # no temporary file left


def test_check_deploy_warns_of_a_generated_key_and_refuses_a_malformed_one(settings):
    from beffroi.core.checks import journal_keys_check, journal_keys_deploy_check

    assert journal_keys_check() == [] and journal_keys_deploy_check() == []
    settings.JOURNAL_KEYS = ""
    assert [w.id for w in journal_keys_deploy_check()] == ["beffroi.W001"]
    settings.JOURNAL_KEYS = "j1:short"
    assert [e.id for e in journal_keys_check()] == ["beffroi.E001"]


# --- Anchors ---------------------------------------------------------------------------


def test_an_anchor_goes_to_the_file_and_to_the_private_storage(chain, settings):
    from django.core.files.storage import storages

    _run("journal_anchor")
    _run("journal_anchor")
    lines = settings.JOURNAL_ANCHOR_PATH.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert (first["seq"], first["mac"], first["count"]) == (5, chain[-1].mac, 5)
    _, names = storages["private"].listdir(journal_anchors.STORAGE_DIR)
    # Dated names, never overwritten: two anchors, two objects.
    assert len(names) == 2
    assert all(name.endswith(".json") and "-n5" in name for name in names)
    out = _verify()
    assert "Ancres vérifiées : 2 dans le fichier, 2 dans le stockage privé" in out
    assert "atteste l’entrée n° 5" in out


def test_deleting_the_last_entries_is_caught_against_the_anchor(chain):
    _run("journal_anchor")
    tamper("DELETE FROM core_journalentry WHERE seq >= %s", [4])
    # The chain that is left is valid: only the anchor tells.
    assert journal.verify_chain().broken is None
    with pytest.raises(CommandError, match="entrée n° 4 : le journal s’arrête à l’entrée n° 3 alors que l’ancre du"):
        call_command("verify_journal")


def test_the_storage_still_tells_when_the_anchor_file_was_truncated_too(chain, settings):
    _run("journal_anchor")
    tamper("DELETE FROM core_journalentry WHERE seq = %s", [5])
    settings.JOURNAL_ANCHOR_PATH.write_text("")
    with pytest.raises(CommandError, match=r"ancre du .* \(stockage privé, journal-anchors/"):
        call_command("verify_journal")


def test_what_the_anchors_cannot_see(chain, settings):
    """Entries removed after the last anchor, with that anchor removed from
    both places, leave a valid chain and valid anchors (docs/deploy.md says
    so; the daily report's head, kept outside the machine, is the remedy)."""
    from django.core.files.storage import storages

    _run("journal_anchor")
    _record(None, None, 2)
    _run("journal_anchor")
    tamper("DELETE FROM core_journalentry WHERE seq >= %s", [6])
    lines = settings.JOURNAL_ANCHOR_PATH.read_text().splitlines()
    settings.JOURNAL_ANCHOR_PATH.write_text(lines[0] + "\n")
    storage = storages["private"]
    for name in storage.listdir(journal_anchors.STORAGE_DIR)[1]:
        if "-n7" in name:
            storage.delete(f"{journal_anchors.STORAGE_DIR}/{name}")
    assert "5 entrée(s) vérifiée(s)" in _verify()
    with pytest.raises(CommandError, match="entrée n° 6 : le journal s’arrête à l’entrée n° 5"):
        call_command("verify_journal", "--head", f"7:{json.loads(lines[1])['mac']}")


def test_an_anchor_with_a_mac_not_in_the_chain_is_reported(chain, settings):
    settings.JOURNAL_ANCHOR_PATH.parent.mkdir(parents=True)
    other = hashlib.sha256(b"another journal").hexdigest()
    settings.JOURNAL_ANCHOR_PATH.write_text(
        json.dumps({"seq": 3, "mac": other, "count": 3, "at": "2026-05-04T01:02:03+00:00"}) + "\n"
    )
    with pytest.raises(CommandError, match=r"entrée n° 3 : l’entrée n° 3 ne correspond pas à l’ancre du 04/05/2026 à 03:02"):
        call_command("verify_journal")


def test_an_unreadable_anchor_is_reported(chain, settings):
    settings.JOURNAL_ANCHOR_PATH.parent.mkdir(parents=True)
    settings.JOURNAL_ANCHOR_PATH.write_text('{"seq": 2, "mac": "zz"}\n')
    with pytest.raises(CommandError, match=r"Vérification impossible : ancre illisible \(.*anchors.jsonl, ligne 1\)"):
        call_command("verify_journal")


def test_a_head_given_on_the_command_line_is_checked(chain):
    assert "1 en ligne de commande" in _verify("--head", f"5:{chain[-1].mac}")
    with pytest.raises(CommandError, match="entrée n° 4 : l’entrée n° 4 ne correspond pas"):
        call_command("verify_journal", "--head", f"4:{chain[-1].mac}")
    with pytest.raises(CommandError, match="tête attendue sous la forme"):
        call_command("verify_journal", "--head", "cinq")


# --- Journals from before the keys ------------------------------------------------------


def _unsigned_journal(n):
    """Entries as the code before the keys wrote them: plain SHA-256, no key id."""
    from django.utils import timezone

    previous = journal.GENESIS_MAC
    for seq in range(1, n + 1):
        entry = JournalEntry(
            seq=seq, at=timezone.now(), actor_label="Système", action="test.action", data={"i": seq}, prev_mac=previous
        )
        entry.mac = journal.legacy_hash(entry)
        entry.save(force_insert=True)
        previous = entry.mac


def _run_seal_migration():
    """Migration 0005's function, given the models as they are before it (a
    schema editor cannot open inside the test's transaction on SQLite, and the
    function only reads which connection it runs on)."""
    migration = import_module("beffroi.core.migrations.0005_journal_seal")
    before = MigrationLoader(connection).project_state(("core", "0004_journal_mac")).apps
    with transaction.atomic():
        migration.seal(before, SimpleNamespace(connection=connection))


def test_the_migration_seals_an_unsigned_journal_with_one_signed_entry(db):
    _unsigned_journal(3)
    _run_seal_migration()
    seal = JournalEntry.objects.get(seq=4)
    assert (seal.action, seal.key_id, seal.actor_label) == ("journal.seal", "j1", journal.SYSTEM_LABEL)
    assert seal.data == {"unsigned_entries": 3, "last_unsigned_hash": JournalEntry.objects.get(seq=3).mac}
    assert "4 entrée(s) vérifiée(s)" in _verify()
    # Run again (a migration replayed on a restored copy): nothing more.
    _run_seal_migration()
    assert JournalEntry.objects.count() == 4


def test_unsigned_entries_recomputed_after_the_seal_are_caught(db):
    _unsigned_journal(3)
    _run_seal_migration()
    forged = list(JournalEntry.objects.filter(seq__gte=2).exclude(key_id="j1").order_by("seq"))
    forged[0].data = {"i": 99}
    _rewrite(forged, journal.legacy_hash)
    with pytest.raises(CommandError, match="entrée n° 4 : l’entrée n° 4 ne suit pas"):
        call_command("verify_journal")


def test_an_unsigned_journal_left_without_its_signed_entries_is_caught(db):
    _unsigned_journal(3)
    _run_seal_migration()
    tamper("DELETE FROM core_journalentry WHERE seq = %s", [4])
    with pytest.raises(CommandError, match="le journal s’arrête à l’entrée n° 3, qui n’est pas signée"):
        call_command("verify_journal")
    tamper("INSERT INTO core_journalentry (seq, at, actor_label, action, object_type, object_id, object_label, data,"
            " prev_mac, mac, key_id) SELECT 4, at, actor_label, action, '', '', '', data, mac, %s, '' FROM"
            " core_journalentry WHERE seq = 3", ["f" * 64])
    with pytest.raises(CommandError, match="entrée n° 4 : le contenu"):
        call_command("verify_journal")


def test_the_migration_leaves_an_empty_or_signed_journal_alone(db, commune):
    _run_seal_migration()
    assert not JournalEntry.objects.exists()
    _record(None, commune, 1)
    _run_seal_migration()
    assert JournalEntry.objects.count() == 1


# --- The database's own guard ---------------------------------------------------------------


def test_postgresql_itself_refuses_changes_to_the_journal(commune, administrator):
    """On PostgreSQL a trigger refuses UPDATE and DELETE, even from the owner.
    SQLite (the embedded default) has no such guard: there the chain of MACs
    and the anchors, tested above, are the protection."""
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
    assert action_label("journal.seal") == "Journal : scellement des entrées antérieures à la clé"
    assert action_label("inconnu.chose") == "inconnu.chose"


def test_every_action_the_apps_journal_reads_in_french():
    """Each app declares the labels of its actions: none shows as a code."""
    import re
    from pathlib import Path

    from beffroi.core.journal_labels import action_label

    actions = set()
    for path in Path(__file__).resolve().parents[2].rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text()
        actions |= set(re.findall(r'journal\.record\([^)]*?\baction="([a-z_]+\.[a-z_]+)"', text, re.S))
        actions |= set(re.findall(r'journal_action="([a-z_]+\.[a-z_]+)"', text))
    assert "safe.password_wait" in actions and "report.assign" in actions
    unlabelled = sorted(a for a in actions if action_label(a) == a)
    assert not unlabelled, unlabelled
