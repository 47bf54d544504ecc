"""The outbox: enqueuing in the caller's transaction, claims, leases, take-overs."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tasks.signals import task_finished
from django_tasks_db.models import DBTaskResult

from beffroi.core.maintenance import daily_maintenance
from beffroi.core.models import Organisation
from beffroi.core.tasks import enqueue
from beffroi.notify.sms.base import Outcome
from beffroi.notify.sms.checks import sms_settings
from beffroi.notify.sms.dispatch import claim_due, dispatch_due, record_outcome
from beffroi.notify.sms.file import FileBackend
from beffroi.notify.sms.housekeeping import erase_old_messages
from beffroi.notify.sms.lifecycle import SMS_LIFECYCLE
from beffroi.notify.sms.models import SmsMessage
from beffroi.notify.sms.selectors import SmsCounts, sms_counts
from beffroi.notify.sms.services import sms_enqueue
from beffroi.notify.sms.tasks import dispatch_sms, ensure_dispatch_scheduled

TEXT = "Rappel : votre rendez-vous en mairie est demain à 9 h."


def _dispatch_jobs():
    return DBTaskResult.objects.filter(task_path=dispatch_sms.module_path)


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


# --- Enqueuing ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_message_is_queued_with_the_job_that_sends_it(commune):
    message = sms_enqueue(to="07 12 34 56 78", text=f"  {TEXT}\r\n", organisation=commune, purpose="reminder", verified=True)
    assert message.to == "+33712345678" and message.text == TEXT
    assert message.status == "queued" and message.attempts == 0
    assert message.tag.startswith("sms-") and len(message.tag) == 20
    assert message.next_attempt_at <= timezone.now()
    assert _dispatch_jobs().filter(status="READY").count() == 1


@pytest.mark.django_db
def test_a_tag_makes_enqueuing_idempotent():
    first = sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-42")
    again = sms_enqueue(to="+33 6 12 34 56 78", text=TEXT, purpose="reminder", verified=True, tag="rem-42")
    assert again.pk == first.pk
    assert SmsMessage.objects.count() == 1 and _dispatch_jobs().count() == 1
    with pytest.raises(ValidationError) as refused:
        sms_enqueue(to="0612345678", text="Autre chose", purpose="reminder", verified=True, tag="rem-42")
    assert refused.value.messages == ["Un autre SMS porte déjà l’étiquette « rem-42 »."]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "  "}, "Le texte du SMS est vide."),
        ({"text": "é" * 481}, "Le texte du SMS dépasse 480 caractères (481)."),
        ({"purpose": "Rappel du coffre"}, "Motif d’envoi invalide."),
        ({"tag": "rappel-du-coffre-numero-12"}, "Étiquette invalide : 20 caractères au plus, lettres, chiffres, « - » ou « _ »."),
        ({"to": "01 23 45 67 89"}, "Ce numéro n’est pas un mobile : les SMS ne partent que vers les numéros en 06 ou 07."),
    ],
)
def test_what_cannot_be_sent_is_refused_in_french(fields, message):
    with pytest.raises(ValidationError) as refused:
        sms_enqueue(**{"to": "0612345678", "text": TEXT, "purpose": "reminder", "verified": True, **fields})
    assert refused.value.messages == [message]
    assert not SmsMessage.objects.exists() and not _dispatch_jobs().exists()


@pytest.mark.django_db(transaction=True)
def test_a_message_enqueued_in_a_rolled_back_transaction_is_never_sent(ovh):
    with pytest.raises(RuntimeError), transaction.atomic():
        sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
        assert SmsMessage.objects.count() == 1 and _dispatch_jobs().count() == 1
        raise RuntimeError("the caller's write failed")
    assert not SmsMessage.objects.exists() and not _dispatch_jobs().exists()
    assert dispatch_due() == {}
    assert ovh.stats()["requests"] == 0


@pytest.mark.django_db(transaction=True)
def test_nothing_leaves_before_the_callers_commit(ovh):
    """A dispatcher running meanwhile sees nothing (PostgreSQL) or waits for the
    commit (SQLite's single writer); either way the provider gets the message
    after the commit, once."""
    done = {}

    def dispatcher():
        done.update(dispatch_due())
        connection.close()

    with transaction.atomic():
        sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
        thread = threading.Thread(target=dispatcher)
        thread.start()
        time.sleep(0.5)
        assert ovh.stats()["requests"] == 0
    thread.join(30)
    dispatch_due()
    assert len(ovh.ids_for("rem-1")) == 1
    assert SmsMessage.objects.get(tag="rem-1").status == "sent"


# --- Dispatching -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_claim_is_committed_before_the_call_and_sent_only_once_accepted(ovh):
    message = sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    ovh.stall_next(1, seconds=30, record=True)  # OVH keeps it, its answer is late
    done = {}

    def dispatcher():
        done.update(dispatch_due())
        connection.close()

    thread = threading.Thread(target=dispatcher)
    thread.start()
    try:
        assert _wait_for(lambda: ovh.ids_for("rem-1"))
        message.refresh_from_db()
        # Seen from another connection: claimed, not sent while OVH has not answered.
        assert (message.status, message.attempts, message.provider_id, message.sent_at) == ("sending", 1, "", None)
        assert message.next_attempt_at > timezone.now() + timedelta(seconds=50)  # the lease
    finally:
        ovh.release()
        thread.join(30)
    assert done == {"claimed": 1, "sent": 1}
    message.refresh_from_db()
    assert message.status == "sent" and [int(message.provider_id)] == ovh.ids_for("rem-1")


@pytest.mark.django_db
def test_a_message_left_sending_is_taken_over_after_its_lease_only(ovh, settings):
    message = sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    start = timezone.now()
    [claim] = claim_due(now=start, size=10)  # a worker claims it, then dies
    assert claim.attempts == 1 and claim.lease_end == start + timedelta(seconds=60)

    assert dispatch_due(now=start + timedelta(seconds=59)) == {}  # still leased
    assert dispatch_due(now=start + timedelta(seconds=61)) == {"claimed": 1, "sent": 1}
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 2
    assert ovh.stats()["lookups"] == 1 and len(ovh.ids_for("rem-1")) == 1


@pytest.mark.django_db
def test_a_late_outcome_does_not_overwrite_the_take_over(ovh):
    message = sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    start = timezone.now()
    [stale] = claim_due(now=start, size=10)
    [current] = claim_due(now=start + timedelta(seconds=61), size=10)
    assert current.attempts == 2 and current.lease_end != stale.lease_end

    late = Outcome(Outcome.RETRY, reason="Pas de réponse d’OVH (délai dépassé).")
    assert record_outcome(stale, late, now=start + timedelta(seconds=62)) == "superseded"
    message.refresh_from_db()
    assert (message.status, message.next_attempt_at, message.last_error) == ("sending", current.lease_end, "")
    assert record_outcome(current, Outcome(Outcome.SENT, provider_id="7"), now=start) == "sent"
    message.refresh_from_db()
    assert (message.status, message.provider_id) == ("sent", "7")


@pytest.mark.django_db
def test_a_message_taken_over_after_its_last_attempt_is_only_looked_up(ovh):
    message = sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    SmsMessage.objects.filter(pk=message.pk).update(status="sending", attempts=6, next_attempt_at=timezone.now())
    assert dispatch_due() == {"claimed": 1, "failed": 1}
    message.refresh_from_db()
    assert message.last_error == "Abandon : l’envoi a été interrompu trop de fois."
    assert ovh.stats()["lookups"] == 1 and ovh.stats()["accepted"] == 0


def test_the_lifecycle_refuses_every_other_move():
    assert SMS_LIFECYCLE.target("queued", "claim") == "sending"
    assert SMS_LIFECYCLE.target("sending", "retry") == "queued"
    assert SMS_LIFECYCLE.allowed_actions("sent") == [] and SMS_LIFECYCLE.allowed_actions("failed") == []
    with pytest.raises(ValidationError) as refused:
        SMS_LIFECYCLE.target("queued", "accepted", status_label="En attente")
    assert refused.value.messages == [
        "Action impossible : « Accepté par l’opérateur » n’est pas permis depuis l’état « En attente »."
    ]


# --- The dispatch job and the worker ------------------------------------------------


@pytest.mark.django_db
def test_a_run_leaves_a_job_for_the_next_retry(ovh):
    message = sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    ovh.fail_next(1, status=503)
    _dispatch_jobs().delete()
    assert dispatch_sms.call() == {"claimed": 1, "retried": 1}
    message.refresh_from_db()
    [job] = _dispatch_jobs()
    assert job.status == "READY" and job.run_after == message.next_attempt_at
    # Once is enough.
    assert ensure_dispatch_scheduled() is False
    assert _dispatch_jobs().count() == 1


@pytest.mark.django_db
def test_a_failed_run_plans_the_next_one_a_minute_later(settings):
    settings.SMS_BACKEND = "ovh"  # without its keys
    sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    _dispatch_jobs().delete()
    with pytest.raises(ImproperlyConfigured):
        dispatch_sms.call()
    [job] = _dispatch_jobs()
    assert job.run_after > timezone.now() + timedelta(seconds=50)  # no spinning on a wrong setting
    assert SmsMessage.objects.get().status == "queued"


def test_wrong_settings_are_reported_by_the_system_checks(settings):
    assert sms_settings() == []
    settings.SMS_BACKEND = "ovh"
    settings.SMS_OVH_CONSUMER_KEY = settings.SMS_OVH_SERVICE_NAME = ""
    assert [w.id for w in sms_settings()] == ["sms.W001"]
    assert "SMS_OVH_CONSUMER_KEY, SMS_OVH_SERVICE_NAME" in sms_settings()[0].msg
    settings.SMS_BACKEND = "ovhh"
    assert [w.id for w in sms_settings()] == ["sms.W002"]
    settings.SMS_BACKEND = "file"
    settings.SMS_LEASE_SECONDS, settings.SMS_TIMEOUT_SECONDS = 20, 10
    assert [w.id for w in sms_settings()] == ["sms.W003"]


@pytest.mark.django_db
def test_no_job_is_left_when_nothing_is_pending(ovh):
    sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    _dispatch_jobs().delete()
    assert dispatch_sms.call() == {"claimed": 1, "sent": 1}
    assert not _dispatch_jobs().exists()


@pytest.mark.django_db
def test_the_daily_maintenance_job_repairs_a_broken_chain_and_erases_old_texts(ovh, caplog):
    stuck = sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    old = sms_enqueue(to="0712345678", text=TEXT, purpose="reminder", verified=True, tag="rem-2")
    SmsMessage.objects.filter(pk=old.pk).update(
        status="sent", next_attempt_at=None, created_at=timezone.now() - timedelta(days=31)
    )
    _dispatch_jobs().delete()  # as if a failure had broken the chain
    result = enqueue(daily_maintenance)
    task_finished.send(sender=type(result.task.get_backend()), task_result=result)
    [job] = _dispatch_jobs()
    assert job.status == "READY"
    old.refresh_from_db()
    stuck.refresh_from_db()
    assert (old.to, old.text) == ("", "") and stuck.text == TEXT
    assert erase_old_messages() == 0


# --- Counts ------------------------------------------------------------------------


@pytest.mark.django_db
def test_counts_per_organisation_since_a_date(commune, other_commune):
    now = timezone.now()
    statuses = ["sent", "sent", "failed", "queued", "sending"]
    for i, status in enumerate(statuses):
        message = sms_enqueue(to="0612345678", text=TEXT, organisation=commune, purpose="reminder", verified=True, tag=f"h-{i}")
        dated = None if status in ("sent", "failed") else now
        SmsMessage.objects.filter(pk=message.pk).update(status=status, next_attempt_at=dated)
    old = sms_enqueue(to="0612345678", text=TEXT, organisation=commune, purpose="reminder", verified=True, tag="h-old")
    SmsMessage.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=40))
    sms_enqueue(to="0612345678", text=TEXT, organisation=other_commune, purpose="reminder", verified=True, tag="d-1")
    sms_enqueue(to="0612345678", text=TEXT, purpose="code", verified=True, tag="p-1")

    since = now - timedelta(days=30)
    assert sms_counts(commune, since) == SmsCounts(sent=2, failed=1, queued=2)
    assert sms_counts(other_commune, since) == SmsCounts(sent=0, failed=0, queued=1)
    assert sms_counts(None, since) == SmsCounts(sent=0, failed=0, queued=1)
    assert sms_counts(Organisation(pk=999_999), since) == SmsCounts(sent=0, failed=0, queued=0)


# --- The console and file backends --------------------------------------------------


@pytest.mark.django_db
def test_the_console_backend_writes_the_message_to_the_log(settings, caplog):
    settings.SMS_BACKEND = "console"
    message = sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    with caplog.at_level("INFO", logger="beffroi.sms"):
        assert dispatch_due() == {"claimed": 1, "sent": 1}
    assert "rem-1" in caplog.text and "+33612345678" in caplog.text and TEXT in caplog.text
    message.refresh_from_db()
    assert message.status == "sent" and message.provider_id.startswith("console-")


@pytest.mark.django_db
def test_the_file_backend_appends_json_lines_and_finds_them_again(settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_FILE_PATH = tmp_path / "sms" / "sms.jsonl"
    first = sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    sms_enqueue(to="0712345678", text="Deuxième message", purpose="reminder", verified=True, tag="rem-2")
    start = timezone.now()
    [claim, _other] = claim_due(now=start, size=10)  # claimed, then the worker dies...
    FileBackend(path=settings.SMS_FILE_PATH).deliver([claim.outgoing], deadline=time.monotonic() + 10)  # ...after sending
    with settings.SMS_FILE_PATH.open("a") as handle:
        handle.write('{"id": "file-cut", "tag": "rem-')  # and a line cut short by a killed process

    assert dispatch_due(now=start + timedelta(seconds=301)) == {"claimed": 2, "found": 1, "sent": 1}
    first_line = json.loads(settings.SMS_FILE_PATH.read_text(encoding="utf-8").splitlines()[0])
    assert (first_line["tag"], first_line["to"], first_line["text"]) == ("rem-1", "+33612345678", TEXT)
    records = FileBackend(path=settings.SMS_FILE_PATH).records()
    assert [r["tag"] for r in records] == ["rem-1", "rem-2"]  # each once; the cut line skipped
    first.refresh_from_db()
    assert first.status == "sent" and first.provider_id == records[0]["id"]
