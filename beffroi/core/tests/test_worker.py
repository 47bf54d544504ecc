"""The task worker: jobs live in the database and survive the worker."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django_tasks_db.models import DBTaskResult

from beffroi.core.models import WorkerHeartbeat
from beffroi.core.tasks import enqueue
from beffroi.core.tests.tasks import slow_append
from conftest import subprocess_database_url

pytestmark = pytest.mark.django_db(transaction=True)


def _start_worker():
    env = {
        **os.environ,
        "DATABASE_URL": subprocess_database_url(),
        "BEFFROI_VAR_DIR": str(settings.VAR_DIR),
        "WORKER_HEARTBEAT_TIMEOUT": "2",
    }
    command = [sys.executable, "manage.py", "worker", "--interval", "0.1", "--no-startup-delay", "-v", "0"]
    return subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_a_job_enqueued_while_no_worker_runs_runs_later(tmp_path):
    trace = tmp_path / "trace"
    result = enqueue(slow_append, str(trace), 0)
    worker = _start_worker()
    try:
        assert _wait_for(lambda: DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL")
    finally:
        worker.terminate()
        worker.wait(timeout=10)
    assert _lines(trace) == ["start", "done"]


def test_a_job_cut_short_by_a_killed_worker_runs_again_after_restart(tmp_path):
    trace = tmp_path / "trace"
    result = enqueue(slow_append, str(trace), 3)
    first = _start_worker()
    try:
        assert _wait_for(lambda: _lines(trace) == ["start"])
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert DBTaskResult.objects.get(pk=result.id).status == "RUNNING"

    second = _start_worker()
    try:
        assert _wait_for(lambda: DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL")
    finally:
        second.terminate()
        second.wait(timeout=10)
    # The killed run never finished; the job then ran to its end, once.
    assert _lines(trace) == ["start", "start", "done"]
    assert WorkerHeartbeat.objects.count() == 2
