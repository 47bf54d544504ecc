"""What an information panel shows: the current alerts first, then its choice."""

from django.db.models import Q

from beffroi.info import selectors
from beffroi.info.models import Post, Screen
from beffroi.info.presenters import post_data


def panel_content(screen: Screen) -> dict:
    commune = screen.organisation
    posts = selectors.public_posts(commune).filter(kind__in=screen.kinds or [Post.Kind.NEWS, Post.Kind.EVENT])
    posts = posts.exclude(kind=Post.Kind.ALERT).prefetch_related("sectors")
    topic_ids = list(screen.topics.values_list("pk", flat=True))
    if topic_ids:
        posts = posts.filter(topic__in=topic_ids)
    sector_ids = list(screen.sectors.values_list("pk", flat=True))
    if sector_ids:
        posts = posts.filter(Q(sectors__in=sector_ids) | Q(sectors__isnull=True)).distinct()
    dated = list(posts.filter(kind__in=[Post.Kind.EVENT, Post.Kind.WORKS]).upcoming()[: screen.max_items])
    news = list(posts.filter(kind=Post.Kind.NEWS).order_by("-published_at")[: screen.max_items])
    items = (dated + news)[: screen.max_items]
    return {
        "name": screen.name,
        "commune": commune.name,
        "slide_seconds": screen.slide_seconds,
        "alerts": [post_data(p) for p in selectors.current_alerts(commune).prefetch_related("sectors")],
        "items": [post_data(p) for p in items],
    }
