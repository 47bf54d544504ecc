"""Background jobs of the signalements, run by the worker."""

import json

from django.core.mail import send_mail
from django_tasks import task

from beffroi.core.models import Membership
from beffroi.notify.push.sender import Message, send_batch


@task()
def notify_agents(report_id: int) -> dict:
    """Web Push to the devices of the agents who receive this report."""
    from beffroi.reports.models import AgentPushSubscription, Report

    report = Report.objects.filter(pk=report_id).select_related("category", "service").first()
    if report is None or not report.is_open:
        return {"sent": 0}
    members = Membership.objects.active().filter(organisation_id=report.organisation_id)
    if report.assignee_id:
        members = members.filter(user_id=report.assignee_id)
    elif report.service_id:
        members = members.filter(service_id=report.service_id)
    users = list(members.values_list("user_id", flat=True))
    subscriptions = AgentPushSubscription.objects.filter(user_id__in=users, organisation_id=report.organisation_id)
    payload = json.dumps(
        {
            "title": f"Nouveau signalement : {report.category.name}",
            "body": report.address or (report.sector.name if report.sector_id else report.commune.name),
            "url": report.get_absolute_url(),
            "tag": f"signalement-{report.code}",
        },
        ensure_ascii=False,
    ).encode()
    return _push(subscriptions, payload, AgentPushSubscription)


@task()
def push_followers(report_id: int, title: str, public: bool = False) -> dict:
    """Web Push to the devices that asked for it on a follow-up page: all of
    them for a public step, the author's only otherwise (a reply, a question).
    Jobs queued before ``public`` existed run as the author's only: the safe side."""
    from beffroi.reports.models import FollowRole, Report, ReportSubscription

    report = Report.objects.filter(pk=report_id).first()
    if report is None:
        return {"sent": 0}
    payload = json.dumps(
        {"title": title, "body": f"Signalement {report.code}", "tag": f"signalement-{report.code}"}, ensure_ascii=False
    ).encode()
    subscriptions = ReportSubscription.objects.filter(report=report)
    if not public:
        subscriptions = subscriptions.filter(role=FollowRole.AUTHOR)
    return _push(subscriptions, payload, ReportSubscription)


def _push(subscriptions, payload: bytes, model) -> dict:
    messages = [
        Message(endpoint=e, p256dh=k, auth=a, payload=payload, ttl=24 * 3600, urgency="high")
        for e, k, a in subscriptions.values_list("endpoint", "p256dh", "auth")
    ]
    outcomes = send_batch(messages) if messages else []
    gone = [o.endpoint for o in outcomes if o.gone]
    if gone:
        model.objects.filter(endpoint__in=gone).delete()
    return {"sent": sum(o.delivered for o in outcomes), "removed": len(gone)}


@task()
def escalate_if_unacknowledged(report_id: int) -> bool:
    from beffroi.reports.services.escalation import escalate_if_unacknowledged as escalate

    return escalate(report_id=report_id)


@task()
def send_escalation_email(report_id: int) -> int:
    """To the service's address and its head's; retried by the worker if SMTP fails."""
    from beffroi.reports.models import Report

    report = Report.objects.select_related("service__head", "category").get(pk=report_id)
    recipients = [a for a in (report.service.email if report.service_id else "",
                              report.service.head.email if report.service_id and report.service.head_id else "") if a]
    if not recipients:
        return 0
    return send_mail(
        subject=f"Signalement {report.code} non pris en compte",
        message=(
            f"Le signalement {report.code} ({report.category}) attend depuis son dépôt le "
            f"{report.created_at:%d/%m/%Y à %H:%M} (UTC) d’être pris en compte.\n\n"
            f"Ouvrir la console : {report.get_absolute_url()}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )
