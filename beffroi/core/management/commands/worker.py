"""The task worker: django-tasks-db's worker, plus heartbeats and recovery.

django-tasks-db marks a task RUNNING when a worker claims it; if that worker is
killed, the task would stay RUNNING for ever. Each worker here records a
heartbeat every few seconds; a task whose worker has been silent for longer
than WORKER_HEARTBEAT_TIMEOUT is given back to the queue. Tasks are therefore
run at least once, and are written to be idempotent.
"""

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from beffroi.core.maintenance import ensure_chains, ensure_scheduled
from beffroi.core.models import WorkerHeartbeat

logger = logging.getLogger("beffroi.worker")



def heartbeat_seconds() -> float:
    """Beat well within the timeout after which other workers give up on us."""
    return max(0.5, min(5.0, settings.WORKER_HEARTBEAT_TIMEOUT / 3))


def beat(worker_id: str) -> None:
    WorkerHeartbeat.objects.update_or_create(worker_id=worker_id, defaults={"seen_at": timezone.now()})


def requeue_orphans(*, timeout_seconds: int) -> int:
    """Give back to the queue the tasks whose worker stopped beating."""
    cutoff = timezone.now() - timedelta(seconds=timeout_seconds)
    alive = set(WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).values_list("worker_id", flat=True))
    requeued = 0
    for pk, worker_ids in DBTaskResult.objects.running().values_list("id", "worker_ids"):
        if worker_ids and worker_ids[-1] in alive:
            continue
        # Conditional: another worker may have recovered it meanwhile.
        requeued += DBTaskResult.objects.filter(pk=pk, status="RUNNING").update(status="READY", started_at=None)
    WorkerHeartbeat.objects.filter(seen_at__lt=cutoff - timedelta(days=1)).delete()
    if requeued:
        logger.warning("%d tâche(s) d’un worker arrêté remise(s) en file", requeued)
    return requeued


class HeartbeatWorker(Worker):
    def run(self) -> None:
        beat(self.worker_id)  # before claiming anything
        requeue_orphans(timeout_seconds=settings.WORKER_HEARTBEAT_TIMEOUT)
        ensure_scheduled()
        ensure_chains()
        stop = threading.Event()
        thread = threading.Thread(target=self._heartbeat, args=(stop,), name="worker-heartbeat", daemon=True)
        thread.start()
        try:
            super().run()
        finally:
            stop.set()

    def _heartbeat(self, stop: threading.Event) -> None:
        while not stop.wait(heartbeat_seconds()):
            try:
                close_old_connections()
                beat(self.worker_id)
                requeue_orphans(timeout_seconds=settings.WORKER_HEARTBEAT_TIMEOUT)
            except Exception:
                logger.exception("Battement de cœur du worker impossible")
        connection.close()


class Command(DBWorkerCommand):
    help = "Exécute les tâches de fond (publication programmée, notifications…)."

    def handle(self, *args, **options):
        # The parent builds a Worker from these options; build ours instead.
        options.setdefault("worker_id", get_random_string(32))
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        worker = HeartbeatWorker(
            queue_names=queue_names,
            interval=options["interval"],
            batch=options["batch"],
            backend_name=options["backend_name"],
            startup_delay=options["startup_delay"],
            max_tasks=options["max_tasks"],
            worker_id=options["worker_id"],
            excluded_queue_names=excluded,
        )
        worker.configure_signals()
        worker.run()
