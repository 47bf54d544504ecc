"""Figures read from the database at scrape time, as the apps declared them."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from beffroi.core.management.commands.worker import beat
from beffroi.core.models import WorkerHeartbeat
from beffroi.notify.sms.models import SmsMessage
from beffroi.ops import facts, metrics
from beffroi.ops.tests.test_metrics import samples, value
from beffroi.safe.models import Document
from beffroi.safe.services.documents import integrity_check
from beffroi.safe.tests.conftest import beneficiary, owner_client, pdf_bytes  # noqa: F401 (fixtures)
from beffroi.safe.tests.test_documents import upload


def figures() -> dict:
    return samples(metrics.exposition().decode())


def _sms(organisation, status, *, tag, created_at=None):
    message = SmsMessage.objects.create(
        organisation=organisation, to="+33612345678", text="Rappel", tag=tag, purpose="reminder", status=status,
        next_attempt_at=timezone.now() if status in SmsMessage.PENDING else None,
    )
    if created_at is not None:
        SmsMessage.objects.filter(pk=message.pk).update(created_at=created_at)
    return message


def test_sms_of_today_by_organisation_and_status(commune, other_commune):
    S = SmsMessage.Status
    _sms(commune, S.SENT, tag="a1")
    _sms(commune, S.SENT, tag="a2")
    _sms(commune, S.FAILED, tag="a3")
    _sms(other_commune, S.QUEUED, tag="b1")
    _sms(None, S.SENT, tag="p1")
    _sms(commune, S.SENT, tag="old", created_at=timezone.now() - timedelta(days=2))
    found = figures()
    assert value(found, "beffroi_sms_today", organisation="haisnes", status="sent") == 2
    assert value(found, "beffroi_sms_today", organisation="haisnes", status="failed") == 1
    assert value(found, "beffroi_sms_today", organisation="douvrin", status="queued") == 1
    assert value(found, "beffroi_sms_today", organisation="", status="sent") == 1
    # No number, no text: only counts.
    assert "+336" not in metrics.exposition().decode()


def test_sms_budgets_used_and_refused_today(commune, settings):
    from beffroi.notify.sms.caps import SmsRefused
    from beffroi.notify.sms.services import sms_enqueue

    settings.SMS_DAILY_BUDGET_PER_ORGANISATION = 2
    settings.SMS_DAILY_MAX_PER_NUMBER = settings.SMS_DAILY_MAX_PER_ACCOUNT = 100
    for n in range(3):
        try:
            sms_enqueue(to="+33612345678", text="Rappel", organisation=commune, purpose="reminder", verified=True)
        except SmsRefused:
            assert n == 2
    found = figures()
    payer = f"organisation:{commune.pk}"
    assert value(found, "beffroi_sms_budget_used_today", payer=payer) == 2
    assert value(found, "beffroi_sms_budget_refused_today", payer=payer) == 1


def test_documents_found_damaged_by_the_integrity_check(owner_client):  # noqa: F811
    upload(owner_client, pdf_bytes())
    upload(owner_client, pdf_bytes("AUTRE"))
    assert value(figures(), "beffroi_safe_documents_damaged") == 0
    document = Document.objects.first()
    path = Path(settings.STORAGES["private"]["OPTIONS"]["location"]) / document.storage_name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert integrity_check()["failed"] == 1
    found = figures()
    assert value(found, "beffroi_safe_documents_damaged") == 1
    assert value(found, "beffroi_safe_stored_bytes") == sum(Document.objects.values_list("size", flat=True)) > 0


def test_a_count_of_today_by_a_date_field(owner_client):  # noqa: F811
    """``today`` on a date field (a day's counter) keeps that day's rows."""
    upload(owner_client, pdf_bytes(), expires_on=timezone.localdate().isoformat())
    upload(owner_client, pdf_bytes("DEMAIN"), expires_on=(timezone.localdate() + timedelta(days=1)).isoformat())
    facts.register_count("test_documents_expiring_today", "Test.", model="safe.Document", today="expires_on")
    try:
        assert Document.objects.count() == 2
        assert value(figures(), "test_documents_expiring_today") == 1
    finally:
        del facts._facts["test_documents_expiring_today"]


def _finished(task_path, status, return_value, *, ago=timedelta(minutes=5)):
    finished_at = timezone.now() - ago
    return DBTaskResult.objects.create(
        task_path=task_path, status=status, return_value=return_value, args_kwargs={"args": [], "kwargs": {}},
        backend_name="default", run_after=finished_at, finished_at=finished_at,
    )


def test_push_jobs_results_of_the_last_day_are_added_up(db):
    push = "beffroi.info.tasks.push_post"
    _finished(push, "SUCCESSFUL", {"sent": 12, "removed": 1, "to_retry": 2, "attempt": 0})
    _finished(push, "SUCCESSFUL", {"sent": 3, "removed": 0, "to_retry": 0, "attempt": 1})
    _finished(push, "SUCCESSFUL", {"sent": 0, "skipped": "not visible"})
    _finished(push, "FAILED", None)
    _finished(push, "SUCCESSFUL", {"sent": 100}, ago=timedelta(days=2))
    _finished("beffroi.reports.tasks.notify_agents", "SUCCESSFUL", {"sent": 4, "removed": 2})
    found = figures()
    assert value(found, "beffroi_job_results_last_day", task=push, key="sent") == 15
    assert value(found, "beffroi_job_results_last_day", task=push, key="removed") == 1
    assert value(found, "beffroi_job_results_last_day", task=push, key="to_retry") == 2
    assert value(found, "beffroi_job_results_last_day", task="beffroi.reports.tasks.notify_agents", key="sent") == 4
    assert value(found, "beffroi_jobs_finished_last_day", task=push, status="successful") == 3
    assert value(found, "beffroi_jobs_finished_last_day", task=push, status="failed") == 1
    assert ("beffroi_job_results_last_day", frozenset({("task", push), ("key", "skipped")})) not in found


def test_workers_alive_and_the_age_of_the_last_heartbeat(db, settings):
    assert value(figures(), "beffroi_workers_alive") == 0
    WorkerHeartbeat.objects.create(
        worker_id="arrete", seen_at=timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_TIMEOUT + 60)
    )
    found = figures()
    assert value(found, "beffroi_workers_alive") == 0
    assert value(found, "beffroi_worker_heartbeat_age_seconds") >= settings.WORKER_HEARTBEAT_TIMEOUT + 60
    beat("vivant")
    found = figures()
    assert value(found, "beffroi_workers_alive") == 1
    assert value(found, "beffroi_worker_heartbeat_age_seconds") < settings.WORKER_HEARTBEAT_TIMEOUT
