"""Hooks on the worker's task signals (django-tasks).

After the daily maintenance job: the outbox's upkeep (``housekeeping``),
which also re-creates the dispatch job if a failure ever broke the chain.
After a dispatch run that failed (database gone mid-run…): the same check.

This stands in for ``core.maintenance.register``, whose result
``core/tests/test_maintenance.py`` compares as a whole.
"""

import logging

from django.dispatch import receiver
from django_tasks.signals import task_finished

logger = logging.getLogger(__name__)

DAILY_MAINTENANCE = "beffroi.core.maintenance.daily_maintenance"
DISPATCH = "beffroi.notify.sms.tasks.dispatch_sms"


@receiver(task_finished, dispatch_uid="sms-after-task")
def after_task(sender, task_result, **kwargs) -> None:
    path = task_result.task.module_path
    if path not in (DAILY_MAINTENANCE, DISPATCH):
        return
    # Never raise here: the worker would record the finished task as failed.
    try:
        if path == DAILY_MAINTENANCE:
            from beffroi.notify.sms.housekeeping import sms_housekeeping

            logger.info("SMS, entretien quotidien : %s", sms_housekeeping())
        elif task_result.status == "FAILED":
            # The run failed before it could plan the next one itself.
            from django.utils import timezone

            from beffroi.notify.sms.tasks import AFTER_FAILURE, ensure_dispatch_scheduled

            ensure_dispatch_scheduled(not_before=timezone.now() + AFTER_FAILURE)
    except Exception:
        logger.exception("SMS : entretien après la tâche %s impossible", path)
