"""Web Push subscriptions: a follower's device for one report, an agent's for
the reports of their organisation. Endpoint and keys, nothing else."""

from django.db import transaction

from beffroi.notify.push.validation import validate_endpoint, validate_keys
from beffroi.reports.models import AgentPushSubscription, FollowRole, FollowToken, ReportSubscription


@transaction.atomic
def follower_push_subscribe(*, follow: FollowToken, endpoint: str, p256dh: str, auth: str) -> None:
    """Push for this report only, from its follow-up page (``follow``: its link):
    endpoint and keys, nothing else. The subscription takes the link's role: a
    follower's device is told of public steps only. A device that holds both
    links of a report (its author followed it too) keeps the author's role."""
    validate_endpoint(endpoint)
    validate_keys(p256dh, auth)
    subscription, created = ReportSubscription.objects.select_for_update().get_or_create(
        report_id=follow.report_id, endpoint=endpoint, defaults={"p256dh": p256dh, "auth": auth, "role": follow.role}
    )
    if not created:
        subscription.p256dh, subscription.auth = p256dh, auth
        if follow.is_author:
            subscription.role = FollowRole.AUTHOR
        subscription.save(update_fields=["p256dh", "auth", "role"])


@transaction.atomic
def agent_push_subscribe(*, user, organisation, endpoint: str, p256dh: str, auth: str) -> None:
    validate_endpoint(endpoint)
    validate_keys(p256dh, auth)
    AgentPushSubscription.objects.update_or_create(
        endpoint=endpoint, defaults={"user": user, "organisation": organisation, "p256dh": p256dh, "auth": auth}
    )
