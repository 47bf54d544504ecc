"""The worker's side of the SMS outbox.

Every ``sms_enqueue`` enqueues ``dispatch_sms`` in the caller's transaction
(a caller queuing a batch with ``dispatch=False`` calls
``ensure_dispatch_scheduled`` instead, once for the lot). A run sends what is
due, then makes sure that a run is waiting for whatever is still pending (a
retry later on, a lease that will run out): the chain of jobs never breaks
while a message is pending. A run cut short by a killed worker is given back
to the queue by the worker's heartbeat mechanism
(``core/management/commands/worker.py``), and runs again; meanwhile the
worker started in its place continues the chain (``maintenance.ensure_chains``).
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django_tasks import task

from beffroi.core.tasks import ensure_waiting_run
from beffroi.notify.sms.dispatch import dispatch_due
from beffroi.notify.sms.models import SmsMessage

# After a run that failed (settings, database…), the next one waits this long:
# a broken configuration must not make the worker spin.
AFTER_FAILURE = timedelta(minutes=1)


@task()
def dispatch_sms() -> dict:
    try:
        done = dispatch_due()
    except Exception:
        ensure_dispatch_scheduled(not_before=timezone.now() + AFTER_FAILURE)
        raise
    ensure_dispatch_scheduled()
    return done


def ensure_dispatch_scheduled(*, not_before: datetime | None = None) -> bool:
    """A run of ``dispatch_sms`` waits for the earliest pending message (not
    before ``not_before``) unless one already does; True if it enqueued one."""
    with transaction.atomic():
        earliest = SmsMessage.objects.filter(status__in=SmsMessage.PENDING).aggregate(at=Min("next_attempt_at"))["at"]
        if earliest is None:
            return False
        return ensure_waiting_run(dispatch_sms, at=max(earliest, not_before) if not_before else earliest)
