"""A report nobody acknowledged in time: the service is told again, and its head."""

from django.db import transaction
from django.utils import timezone

from beffroi.core import journal
from beffroi.core.tasks import enqueue
from beffroi.reports import tasks
from beffroi.reports.models import Report, ReportEntry
from beffroi.reports.services._shared import add_entry, tell_consoles


def escalate_if_unacknowledged(*, report_id: int, now=None) -> bool:
    """Still not acknowledged: e-mail the service, and its head. Once."""
    now = now or timezone.now()
    with transaction.atomic():
        current = Report.objects.select_for_update().filter(pk=report_id).first()
        if current is None or current.status != Report.Status.NEW or current.escalated_at is not None:
            return False
        current.escalated_at = now
        head = current.service.head if current.service_id else None
        text = "Pas encore pris en compte : le service a été relancé par courriel"
        if head is not None:
            text += f", et le signalement confié à son responsable, {head.display_name}."
            current.assignee = head
        else:
            text += "."
        current.save(update_fields=["escalated_at", "assignee"])
        add_entry(current, ReportEntry.Kind.ESCALATION, text=text, public=False)
        journal.record(actor=None, organisation=current.organisation, action="report.escalate", target=current)
        tell_consoles(current)
        enqueue(tasks.send_escalation_email, current.pk)
        if head is not None:
            enqueue(tasks.notify_agents, current.pk)
    return True
