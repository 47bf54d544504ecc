"""Web Push for published posts: who gets what, and what happens to failures."""

import json
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from beffroi.core.tasks import enqueue
from beffroi.info.models import FeedSubscription, Post
from beffroi.info.tasks import push_retry
from beffroi.notify.push.sender import Message, send_batch

RETRY_DELAYS = (60, 600, 3600)  # seconds before each new attempt


def subscribers_for(post: Post):
    """Subscriptions that asked for this post: its kind (alerts) or topic, and its sectors."""
    subscriptions = FeedSubscription.objects.filter(organisation_id=post.organisation_id)
    if post.kind == Post.Kind.ALERT:
        subscriptions = subscriptions.filter(alerts=True)
    elif post.topic_id is not None:
        subscriptions = subscriptions.filter(topics=post.topic_id)
    else:
        return subscriptions.none()
    sector_ids = list(post.sectors.values_list("pk", flat=True))
    if sector_ids:
        # A post about some sectors goes to those who follow one of them, or
        # the whole commune.
        subscriptions = subscriptions.filter(Q(sectors__isnull=True) | Q(sectors__in=sector_ids))
    return subscriptions.distinct()


def payload(post: Post) -> bytes:
    return json.dumps(
        {
            "title": post.title if post.kind != Post.Kind.ALERT else f"Alerte — {post.title}",
            "body": post.summary,
            "url": post.get_absolute_url(),
            "tag": f"post-{post.pk}",
            "kind": post.kind,
        },
        ensure_ascii=False,
    ).encode()


def push_post(*, post_id: int, only_endpoints: list[str] | None = None, attempt: int = 0) -> dict:
    post = Post.objects.filter(pk=post_id).first()
    if post is None or not post.is_visible:
        return {"sent": 0, "skipped": "not visible"}
    subscriptions = subscribers_for(post)
    if only_endpoints is not None:
        subscriptions = subscriptions.filter(endpoint__in=only_endpoints)
    body = payload(post)
    alert = post.kind == Post.Kind.ALERT
    ttl = int((post.expires_at - post.published_at).total_seconds()) if alert and post.expires_at else 24 * 3600
    messages = [
        Message(endpoint=e, p256dh=k, auth=a, payload=body, ttl=max(ttl, 60), urgency="high" if alert else "normal")
        for e, k, a in subscriptions.values_list("endpoint", "p256dh", "auth")
    ]
    outcomes = send_batch(messages, concurrency=settings.PUSH_CONCURRENCY)
    gone = [o.endpoint for o in outcomes if o.gone]
    if gone:
        FeedSubscription.objects.filter(endpoint__in=gone).delete()
    retry = [o.endpoint for o in outcomes if o.retryable]
    if retry and attempt < len(RETRY_DELAYS):
        enqueue(
            push_retry,
            post_id,
            retry,
            attempt + 1,
            run_after=timezone.now() + timedelta(seconds=RETRY_DELAYS[attempt]),
        )
    return {
        "sent": sum(o.delivered for o in outcomes),
        "removed": len(gone),
        "to_retry": len(retry),
        "attempt": attempt,
    }
