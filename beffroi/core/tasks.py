"""Enqueuing background jobs alongside the data they concern.

The database task backend writes the job row in the current transaction: the
worker sees it exactly when the change commits, a rollback removes it, and no
crash between commit and enqueue can lose it (which ``on_commit`` could).
"""

from datetime import datetime


def enqueue(task, *args, run_after: datetime | None = None, **kwargs):
    if run_after is not None:
        task = task.using(run_after=run_after)
    return task.enqueue(*args, **kwargs)
