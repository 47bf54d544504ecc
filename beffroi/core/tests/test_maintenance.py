import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.storage import storages
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from beffroi.core import journal, journal_anchors, maintenance, operator_report, throttle
from beffroi.core.maintenance import daily_maintenance, ensure_scheduled
from beffroi.core.models import Counter, JournalEntry
from beffroi.core.tests.tampering import tamper
from beffroi.realtime.models import Event


def test_old_events_and_finished_jobs_go_the_next_day_is_planned(db, settings):
    settings.EVENT_RETENTION_DAYS = 7
    old = Event.objects.create(channel="public:1", type="t", data={})
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    recent = Event.objects.create(channel="public:1", type="t", data={})
    # A counter and a cache entry whose time has passed, and one of each still running.
    throttle.allow(scope="old", identity="k", limit=1, window_seconds=60, now=timezone.now() - timedelta(minutes=2))
    throttle.allow(scope="new", identity="k", limit=1, window_seconds=60)
    cache.set("old", 1, 60)
    cache.set("new", 1, 60)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE beffroi_cache SET expires = %s WHERE cache_key LIKE %s",
                       [connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(minutes=1)), "%old"])

    done = daily_maintenance.func()
    safe = done.pop("safe")  # its own tests check it (beffroi/safe/tests)
    assert done == {
        "events": 1,
        "jobs": 0,
        "counters": 1,
        "cache": 1,
        "reports_purged": 0,
        "journal": {"seq": 0, "entries": 0, "verification": "intègre", "intact": True},
    }
    assert Counter.objects.count() == 1 and cache.get("new") == 1
    assert safe["integrity"] == {"checked": 0, "failed": 0} and safe["keys"]["rotated"] is None
    assert list(Event.objects.values_list("pk", flat=True)) == [recent.pk]
    planned = DBTaskResult.objects.get(task_path=daily_maintenance.module_path)
    assert timedelta(hours=23) < planned.run_after - timezone.now() <= timedelta(days=1)


def test_the_worker_keeps_exactly_one_daily_job_waiting(db):
    assert ensure_scheduled() is True
    assert ensure_scheduled() is False
    assert DBTaskResult.objects.filter(task_path=daily_maintenance.module_path).count() == 1


def _journal_entries(n):
    for i in range(n):
        with transaction.atomic():
            journal.record(actor=None, action="test.action", data={"i": i})
    return JournalEntry.objects.order_by("-seq").first()


def test_the_daily_job_anchors_the_journal_and_reports_to_the_operators(db, settings):
    settings.ADMINS = [("Exploitation", "exploitation@example.org")]
    head = _journal_entries(3)
    done = daily_maintenance.func()

    assert done["journal"]["seq"] == 3 and done["journal"]["intact"] is True
    anchor = json.loads(settings.JOURNAL_ANCHOR_PATH.read_text())
    assert (anchor["seq"], anchor["mac"], anchor["count"]) == (3, head.mac, 3)
    assert storages["private"].exists(done["journal"]["storage"])

    [report] = mail.outbox
    assert report.to == ["exploitation@example.org"]
    assert report.subject == "[Beffroi] Rapport quotidien : journal à l’entrée n° 3"
    body = report.body
    assert f"Tête : entrée n° 3, code {head.mac}" in body
    assert "Entrées : 3" in body
    assert "Chaîne et ancres : intègre" in body
    assert f"manage.py verify_journal --head 3:{head.mac}" in body
    # The counts the daily job returns, those of the other apps included.
    assert "Événements temps réel\n  Effacés (anciens) : 0" in body
    assert "reports_purged\n  résultat : 0" in body
    assert "safe\n  integrity.checked : 0" in body


def test_the_report_says_when_the_journal_is_broken(db, settings):
    settings.ADMINS = [("Exploitation", "exploitation@example.org")]
    _journal_entries(3)
    journal_anchors.write_anchor()
    tamper("DELETE FROM core_journalentry WHERE seq = 3")
    daily_maintenance.func()
    [report] = mail.outbox
    assert "JOURNAL ROMPU" in report.subject
    assert "Chaîne et ancres : ROMPU, maillon n° 3 : le journal s’arrête à l’entrée n° 2" in report.body


def test_a_failing_step_stops_neither_the_others_nor_the_anchor_nor_the_report(db, settings, monkeypatch):
    settings.ADMINS = [("Exploitation", "exploitation@example.org")]
    _journal_entries(1)
    ran = []

    def broken():
        raise ValueError("donnée personnelle à ne pas envoyer")

    monkeypatch.setattr(maintenance, "_daily", {"broken": broken, "after": lambda: ran.append(1) or 7})
    with pytest.raises(ValueError):
        daily_maintenance.func()
    assert ran == [1]
    assert settings.JOURNAL_ANCHOR_PATH.exists()
    [report] = mail.outbox
    assert report.subject.endswith(", 1 échec(s)")
    assert "broken\n  ÉCHEC : ValueError" in report.body
    assert "after\n  résultat : 7" in report.body
    assert "donnée personnelle" not in report.body


def test_no_report_without_operators(db, settings):
    settings.ADMINS = []
    assert operator_report.send({"journal": {"seq": 0, "entries": 0}}) is False
    assert mail.outbox == []


def test_an_app_words_its_own_section(monkeypatch):
    monkeypatch.setattr(operator_report, "_sections", dict(operator_report._sections))
    operator_report.register("sms", "SMS", lambda r: [f"Envoyés : {r['sent']}"])
    subject, body = operator_report.build({"sms": {"sent": 4}, "other": {"a": {"b": None}, "c": []}})
    assert "SMS\n  Envoyés : 4" in body
    assert "other\n  a.b : —\n  c : —" in body
