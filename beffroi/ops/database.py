"""Figures read from the database at scrape time: the same from every process.

Background jobs (waiting, the oldest one's age, running, finished in the last
day and what their results add up to), workers' heartbeats, and the counts the
apps declared (``beffroi.ops.facts``).
"""

import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from beffroi.ops import facts

DAY = timedelta(days=1)


def _jobs(now):
    from django_tasks_db.models import DBTaskResult, get_date_max  # models: not importable before apps load

    undated = get_date_max()
    waiting = GaugeMetricFamily(
        "beffroi_jobs_waiting", "Background jobs due and not yet started, by queue.", labels=["queue"]
    )
    oldest = GaugeMetricFamily(
        "beffroi_jobs_oldest_waiting_seconds",
        "How long the oldest due job has waited (since it was enqueued, or since its date), by queue.",
        labels=["queue"],
    )
    rows = (
        DBTaskResult.objects.filter(status="READY")
        .filter(Q(run_after=undated) | Q(run_after__lte=now))
        .order_by()
        .values("queue_name")
        .annotate(
            n=Count("pk"),
            undated_since=Min("enqueued_at", filter=Q(run_after=undated)),
            dated_since=Min("run_after", filter=~Q(run_after=undated)),
        )
    )
    queues = {"default": (0, None)}
    for row in rows:
        since = min((t for t in (row["undated_since"], row["dated_since"]) if t is not None), default=None)
        queues[row["queue_name"]] = (row["n"], since)
    for queue, (count, since) in sorted(queues.items()):
        waiting.add_metric([queue], count)
        oldest.add_metric([queue], max(0.0, (now - since).total_seconds()) if since else 0.0)
    yield waiting
    yield oldest

    scheduled = DBTaskResult.objects.filter(status="READY", run_after__gt=now).exclude(run_after=undated).count()
    yield GaugeMetricFamily("beffroi_jobs_scheduled", "Jobs waiting for a later date.", value=scheduled)
    running = DBTaskResult.objects.filter(status="RUNNING").count()
    yield GaugeMetricFamily("beffroi_jobs_running", "Jobs being run by a worker.", value=running)

    finished = GaugeMetricFamily(
        "beffroi_jobs_finished_last_day", "Jobs finished in the last 24 hours, by task and outcome.",
        labels=["task", "status"],
    )
    recent = DBTaskResult.objects.filter(status__in=["SUCCESSFUL", "FAILED"], finished_at__gte=now - DAY)
    for row in recent.order_by().values("task_path", "status").annotate(n=Count("pk")):
        finished.add_metric([row["task_path"], row["status"].lower()], row["n"])
    yield finished

    # Jobs report what they did in their return value ({"sent": 12,
    # "removed": 1} for a Web Push job): its whole numbers, added up per task.
    results = GaugeMetricFamily(
        "beffroi_job_results_last_day",
        "Whole numbers returned by the jobs that succeeded in the last 24 hours, added up by task and key "
        "(pushes: sent, removed, to_retry).",
        labels=["task", "key"],
    )
    for (task, key), total in sorted(_result_sums(recent.filter(status="SUCCESSFUL")).items()):
        results.add_metric([task, key], total)
    yield results


RESULTS_KEPT_SECONDS = 60.0
_results_cache: dict[str, tuple[float, dict]] = {}


def _result_sums(successful) -> dict[tuple[str, str], int]:
    """Added up from a day of return values (thousands of rows on a busy day): read at most once a
    minute per process, whatever the scrape interval."""
    kept = _results_cache.get("sums")
    if kept is not None and time.monotonic() - kept[0] < RESULTS_KEPT_SECONDS:
        return kept[1]
    sums: dict[tuple[str, str], int] = {}
    for task, value in successful.values_list("task_path", "return_value").iterator():
        if isinstance(value, dict):
            for key, number in value.items():
                if isinstance(number, int) and not isinstance(number, bool):
                    sums[task, key] = sums.get((task, key), 0) + number
    _results_cache["sums"] = (time.monotonic(), sums)
    return sums


def _workers(now):
    from beffroi.core.models import WorkerHeartbeat

    beats = WorkerHeartbeat.objects.aggregate(
        last=Max("seen_at"),
        alive=Count("pk", filter=Q(seen_at__gte=now - timedelta(seconds=settings.WORKER_HEARTBEAT_TIMEOUT))),
    )
    yield GaugeMetricFamily(
        "beffroi_workers_alive", "Workers whose heartbeat is within WORKER_HEARTBEAT_TIMEOUT.", value=beats["alive"]
    )
    if beats["last"] is not None:
        yield GaugeMetricFamily(
            "beffroi_worker_heartbeat_age_seconds",
            "Age of the most recent heartbeat of any worker.",
            value=max(0.0, (now - beats["last"]).total_seconds()),
        )


class DatabaseCollector:
    def collect(self):
        now = timezone.now()
        yield from _jobs(now)
        yield from _workers(now)
        yield from facts.families(now)
