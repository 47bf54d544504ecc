"""Web Push subscriptions: a follower's device for one report, an agent's for
the reports of their organisation. Endpoint and keys, nothing else."""

from django.db import transaction

from beffroi.notify.push.validation import validate_endpoint, validate_keys
from beffroi.reports.models import AgentPushSubscription, Report, ReportSubscription


@transaction.atomic
def follower_push_subscribe(*, report: Report, endpoint: str, p256dh: str, auth: str) -> None:
    """Push for this report only, from its follow-up page: endpoint and keys, nothing else."""
    validate_endpoint(endpoint)
    validate_keys(p256dh, auth)
    ReportSubscription.objects.update_or_create(report=report, endpoint=endpoint, defaults={"p256dh": p256dh, "auth": auth})


@transaction.atomic
def agent_push_subscribe(*, user, organisation, endpoint: str, p256dh: str, auth: str) -> None:
    validate_endpoint(endpoint)
    validate_keys(p256dh, auth)
    AgentPushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "organisation": organisation, "p256dh": p256dh, "auth": auth}
    )
