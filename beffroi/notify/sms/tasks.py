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

from django.conf import settings
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


@task()
def send_budget_alert(organisation_id: int | None, day: str, budget: int) -> int:
    """The day's SMS budget is spent: tell the organisation's administrators
    (its commune's if it has none; the operators, ``ADMINS``, for the
    platform's own messages or when nobody else can be told). Queued once a
    day by ``caps.note_refusal``; retried by the worker if SMTP fails."""
    from datetime import date

    from django.core.mail import mail_admins, send_mail

    from beffroi.core.models import Membership, Organisation

    when = date.fromisoformat(day).strftime("%d/%m/%Y")
    body = (
        "Le budget de {budget} SMS par jour {whose} est atteint le {when}.\n\n"
        "Les SMS suivants de ce jour ne sont pas envoyés, ni mis en attente : codes et rappels sont "
        "refusés jusqu’à demain. Un nombre inhabituel peut signaler un abus ; sinon, le budget se règle "
        "avec {setting}.\n"
    )
    if organisation_id is None:
        mail_admins(subject="SMS : budget du jour de la plateforme atteint",
                    message=body.format(budget=budget, whose="de la plateforme", when=when,
                                        setting="SMS_DAILY_BUDGET_PLATFORM"))
        return len(settings.ADMINS)
    organisation = Organisation.objects.get(pk=organisation_id)
    # Its administrators; a CCAS or an association without one: its commune's; else the operators.
    recipients = []
    for whose in (organisation, organisation.parent):
        if whose is not None and not recipients:
            recipients = sorted(set(
                Membership.objects.active().filter(organisation=whose, role=Membership.Role.ADMINISTRATOR)
                .exclude(user__email="").values_list("user__email", flat=True)
            ))
    if not recipients:
        mail_admins(subject=f"SMS : budget du jour atteint ({organisation.name})",
                    message=body.format(budget=budget, whose=f"de {organisation.name}", when=when,
                                        setting="SMS_DAILY_BUDGET_PER_ORGANISATION"))
        return len(settings.ADMINS)
    return send_mail(
        subject=f"SMS : budget du jour atteint ({organisation.name})",
        message=body.format(budget=budget, whose=f"de {organisation.name}", when=when,
                            setting="SMS_DAILY_BUDGET_PER_ORGANISATION"),
        from_email=None,
        recipient_list=recipients,
    )
