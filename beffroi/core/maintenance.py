"""Daily housekeeping, run by the worker: old events, finished jobs, sessions,
abuse counters and cache entries past their time, and what the apps register
(``register``), such as the purge of old reports; then the journal's anchor,
and the operator report that tells it all.

The job re-enqueues itself for the next day in the same transaction as its
work; the worker makes sure one is always waiting (``ensure_scheduled``).
A step that fails does not stop the others, nor the anchor and the report:
the report names it, and the job then fails with its error.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from beffroi.core import counters, journal_anchors, operator_report
from beffroi.core.tasks import enqueue
from beffroi.realtime.models import Event

logger = logging.getLogger(__name__)

PERIOD = timedelta(days=1)
FINISHED_JOBS_KEPT = timedelta(days=7)
_daily: dict[str, Callable[[], object]] = {}
_chains: dict[str, Callable[[], object]] = {}


def register(name: str, function: Callable[[], object]) -> None:
    """Run ``function`` (idempotent, its own transactions) in the daily job."""
    _daily[name] = function


def register_chain(name: str, ensure: Callable[[], object]) -> None:
    """``ensure`` (idempotent) makes sure that a chain of jobs, each run enqueuing
    the next, has a run waiting; every worker calls it when it starts."""
    _chains[name] = ensure


def ensure_chains() -> None:
    """A worker killed in the middle of a chain's run leaves it "running" until
    its heartbeats are WORKER_HEARTBEAT_TIMEOUT old; the worker started in its
    place continues the chain at once (a run given back later finds nothing
    left, or what is due by then: each run does only what is still to do)."""
    for ensure in _chains.values():
        ensure()


@task()
def daily_maintenance() -> dict:
    now = timezone.now()
    with transaction.atomic():
        events = Event.objects.filter(created_at__lt=now - timedelta(days=settings.EVENT_RETENTION_DAYS)).delete()[0]
        jobs = DBTaskResult.objects.finished().filter(finished_at__lt=now - FINISHED_JOBS_KEPT).delete()[0]
        enqueue(daily_maintenance, run_after=now + PERIOD)
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    done = {"events": events, "jobs": jobs, "counters": counters.purge(), "cache": counters.purge_cache()}
    errors = []
    # The journal's anchor comes last, so that it covers what the steps journaled.
    for name, function in [*_daily.items(), ("journal", journal_anchors.daily)]:
        try:
            done[name] = function()
        except Exception as exc:
            logger.exception("Entretien quotidien : l’étape %s a échoué", name)
            # The class only: a message may quote data, and the report is an e-mail.
            done[name] = {operator_report.FAILED: type(exc).__name__}
            errors.append(exc)
    try:
        operator_report.send(done)
    except Exception as exc:  # the mail server: the work is done all the same
        logger.exception("Entretien quotidien : rapport aux exploitants non envoyé")
        errors.append(exc)
    if errors:
        raise errors[0]
    return done


def ensure_scheduled() -> bool:
    """Enqueue the daily job if none is waiting or running; True if it did."""
    with transaction.atomic():
        pending = DBTaskResult.objects.filter(
            task_path=daily_maintenance.module_path, status__in=["READY", "RUNNING"]
        ).exists()
        if not pending:
            enqueue(daily_maintenance, run_after=timezone.now() + timedelta(minutes=1))
    return not pending
