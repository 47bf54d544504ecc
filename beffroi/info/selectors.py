"""Reads of the information feed for public pages and the API."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.functional import cached_property

from beffroi.core.models import Sector
from beffroi.info.models import Post, Topic
from beffroi.realtime import bus, channels


def public_posts(commune, *, kind: str | None = None, topic: Topic | None = None, sector: Sector | None = None):
    posts = Post.objects.of(commune).visible().select_related("topic")
    if kind:
        posts = posts.filter(kind=kind)
    if topic is not None:
        posts = posts.filter(topic=topic)
    if sector is not None:
        # A post about no sector in particular concerns the whole commune.
        posts = posts.filter(sectors=sector) | posts.filter(sectors__isnull=True)
        posts = posts.distinct()
    return posts


def current_alerts(commune):
    return Post.objects.of(commune).current_alerts().select_related("topic")


class Home:
    """The home page's lists, built only when read: when the page's fragment
    is cached, not even the querysets are constructed."""

    def __init__(self, commune):
        self.commune = commune

    @cached_property
    def events(self):
        return list(public_posts(self.commune, kind=Post.Kind.EVENT).upcoming()[:4])

    @cached_property
    def works(self):
        return list(public_posts(self.commune, kind=Post.Kind.WORKS).upcoming()[:3])

    @cached_property
    def news(self):
        return list(public_posts(self.commune, kind=Post.Kind.NEWS).order_by("-published_at")[:6])


def agenda(commune, *, start: date, days: int, topic=None, sector=None, kinds=(Post.Kind.EVENT,)):
    """Events (and works) that overlap [start, start + days), grouped by day."""
    tz = timezone.get_current_timezone()
    begin = datetime.combine(start, time.min, tzinfo=tz)
    end = begin + timedelta(days=days)
    posts = (
        public_posts(commune, topic=topic, sector=sector)
        .filter(kind__in=kinds, starts_at__lt=end)
        .exclude(ends_at__lt=begin)
        .exclude(ends_at__isnull=True, starts_at__lt=begin)
        .order_by("starts_at")
    )
    by_day: dict[date, list] = {}
    for post in posts:
        day = max(timezone.localtime(post.starts_at).date(), start)
        by_day.setdefault(day, []).append(post)
    return sorted(by_day.items())


def live_since(commune) -> int:
    """The last event of the commune's public channel: pages follow from there.
    Read on every public page, where it also keys the cached fragments."""
    return bus.channel_head(channels.public(commune.pk))


def topics(commune):
    return Topic.objects.filter(organisation=commune)


def sectors(commune):
    return Sector.objects.filter(organisation=commune)
