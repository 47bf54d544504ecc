"""The real worker (manage.py worker) sends the outbox: killed at the worst
moment, or two at once, every message reaches the provider exactly once."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django_tasks_db.models import DBTaskResult

from beffroi.core.models import WorkerHeartbeat
from beffroi.notify.sms.models import SmsMessage
from beffroi.notify.sms.services import sms_enqueue
from beffroi.notify.sms.tasks import dispatch_sms
from conftest import subprocess_database_url

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = "Rappel : votre rendez-vous en mairie est demain à 9 h."


class Workers:
    def __init__(self, fake, tmp_path):
        self.fake = fake
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": subprocess_database_url(),
            "BEFFROI_VAR_DIR": str(settings.VAR_DIR),
            "WORKER_HEARTBEAT_TIMEOUT": "2",
            "SMS_BACKEND": "ovh",
            **self.fake.credentials(),
            "SMS_TIMEOUT_SECONDS": "3",
            "SMS_LEASE_SECONDS": "8",
        }
        log = (self.tmp_path / f"worker-{len(self.processes)}.log").open("w")
        command = [sys.executable, "manage.py", "worker", "--interval", "0.1", "--no-startup-delay", "-v", "0"]
        process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.kill(process)

    def logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.tmp_path.glob("worker-*.log")))


@pytest.fixture
def workers(fake_ovh, tmp_path):
    group = Workers(fake_ovh, tmp_path)
    yield group
    group.stop_all()


def _wait_for(predicate, timeout=40.0, step=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def _status(message) -> str:
    return SmsMessage.objects.values_list("status", flat=True).get(pk=message.pk)


def test_the_worker_sends_a_queued_message(fake_ovh, workers):
    message = sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    workers.start()
    assert _wait_for(lambda: _status(message) == "sent"), workers.logs()
    message.refresh_from_db()
    assert [int(message.provider_id)] == fake_ovh.ids_for("rem-1")


@pytest.mark.parametrize("provider_had_it", [True, False], ids=["after-acceptance", "before-acceptance"])
def test_a_worker_killed_during_the_send_leaves_the_message_sent_exactly_once(fake_ovh, workers, provider_had_it):
    # OVH receives the request and, after-acceptance, keeps the message; its
    # answer never reaches the worker, which is killed meanwhile.
    fake_ovh.stall_next(1, seconds=60, record=provider_had_it)
    message = sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag="rem-1")
    first = workers.start()
    assert _wait_for(lambda: fake_ovh.stats()["stalled"] == 1), workers.logs()
    workers.kill(first)
    assert len(fake_ovh.ids_for("rem-1")) == (1 if provider_had_it else 0)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_id) == ("sending", 1, "")

    # Another worker gives the killed run's job back to the queue, waits for the
    # lease to end, asks OVH about the tag, and sends only if OVH lacks it.
    workers.start()
    assert _wait_for(lambda: _status(message) == "sent"), workers.logs()
    message.refresh_from_db()
    assert message.attempts == 2
    assert [int(message.provider_id)] == fake_ovh.ids_for("rem-1")
    stats = fake_ovh.stats()
    assert stats["accepted"] == 1 and stats["duplicate_tags"] == 0 and stats["lookups"] == 1


def test_two_workers_share_many_messages_without_sending_any_twice(fake_ovh, workers):
    fake_ovh.latency = 0.02  # a distant API: both workers have claims in flight at once
    workers.start()
    workers.start()
    assert _wait_for(lambda: WorkerHeartbeat.objects.count() == 2), workers.logs()
    count = 300
    tags = [f"rem-{i}" for i in range(count)]
    for tag in tags:
        sms_enqueue(to="0612345678", text=TEXT, purpose="reminder", verified=True, tag=tag)

    assert _wait_for(lambda: SmsMessage.objects.filter(status="sent").count() == count, timeout=90), workers.logs()
    stats = fake_ovh.stats()
    assert stats["accepted"] == count and stats["tags"] == count and stats["duplicate_tags"] == 0
    provider_ids = dict(SmsMessage.objects.values_list("tag", "provider_id"))
    assert all([int(provider_ids[tag])] == fake_ovh.ids_for(tag) for tag in tags)
    # Both took part: each one's runs sent some of them (once every run has
    # recorded its result; most runs find nothing left to send).
    jobs = DBTaskResult.objects.filter(task_path=dispatch_sms.module_path)
    assert _wait_for(lambda: not jobs.filter(status__in=["READY", "RUNNING"]).exists(), timeout=60)
    assert not jobs.exclude(status="SUCCESSFUL").exists()
    sent_by = {}
    for worker_ids, result in jobs.values_list("worker_ids", "return_value"):
        sent_by[worker_ids[-1]] = sent_by.get(worker_ids[-1], 0) + (result or {}).get("sent", 0)
    assert sum(sent_by.values()) == count
    assert len([n for n in sent_by.values() if n]) == 2, sent_by
