"""Enqueuing background jobs alongside the data they concern.

The database task backend writes the job row in the current transaction: the
worker sees it exactly when the change commits, a rollback removes it, and no
crash between commit and enqueue can lose it (which ``on_commit`` could).
"""

from datetime import datetime

from django.db import transaction
from django.db.models import Q


def enqueue(task, *args, run_after: datetime | None = None, **kwargs):
    if run_after is not None:
        task = task.using(run_after=run_after)
    return task.enqueue(*args, **kwargs)


def ensure_waiting_run(task, *, at: datetime) -> bool:
    """Enqueue ``task`` to run at ``at`` unless a run of it already waits to
    start by then (undated, or dated no later); True if it enqueued one.

    For chains of jobs, each run enqueuing the next. The run is dated even when
    ``at`` has passed: the worker takes dated jobs first, in date order, so a
    due run never waits behind a backlog of undated jobs. A waiting run found is
    locked until the caller's transaction ends, so that no worker starts it
    before what that transaction writes is visible (a worker's claim skips
    locked jobs).
    """
    from django_tasks_db.models import DBTaskResult, get_date_max  # models: not importable before apps load

    with transaction.atomic():
        waiting = DBTaskResult.objects.filter(task_path=task.module_path, status="READY").filter(
            Q(run_after=get_date_max()) | Q(run_after__lte=at)
        )
        if waiting.select_for_update().values_list("pk", flat=True)[:1]:
            return False
        enqueue(task, run_after=at)
    return True
