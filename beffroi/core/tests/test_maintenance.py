from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from beffroi.core import throttle
from beffroi.core.maintenance import daily_maintenance, ensure_scheduled
from beffroi.core.models import Counter
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
    assert done == {"events": 1, "jobs": 0, "counters": 1, "cache": 1, "reports_purged": 0}
    assert Counter.objects.count() == 1 and cache.get("new") == 1
    assert safe["integrity"] == {"checked": 0, "failed": 0} and safe["keys"]["rotated"] is None
    assert list(Event.objects.values_list("pk", flat=True)) == [recent.pk]
    planned = DBTaskResult.objects.get(task_path=daily_maintenance.module_path)
    assert timedelta(hours=23) < planned.run_after - timezone.now() <= timedelta(days=1)


def test_the_worker_keeps_exactly_one_daily_job_waiting(db):
    assert ensure_scheduled() is True
    assert ensure_scheduled() is False
    assert DBTaskResult.objects.filter(task_path=daily_maintenance.module_path).count() == 1
