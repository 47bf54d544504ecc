"""iCalendar (RFC 5545) exports of events and works."""

from django.utils import timezone
from icalendar import Calendar
from icalendar import Event as VEvent

from beffroi.info.models import Post


def build_calendar(commune, posts, *, name: str, site: str) -> bytes:
    """``site`` is the scheme and host the links point to (https://…)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Beffroi//Agenda de la commune//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{commune.name} — {name}")
    calendar.add("x-wr-timezone", "Europe/Paris")
    stamp = timezone.now()
    for post in posts:
        calendar.add_component(_vevent(post, site=site, stamp=stamp))
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _vevent(post: Post, *, site: str, stamp) -> VEvent:
    event = VEvent()
    event.add("uid", f"post-{post.pk}@{site.split('://', 1)[-1]}")
    event.add("dtstamp", stamp)
    event.add("last-modified", post.updated_at)
    event.add("summary", post.title if post.kind != Post.Kind.WORKS else f"Travaux : {post.title}")
    start = timezone.localtime(post.starts_at)
    event.add("dtstart", start)
    event.add("dtend", timezone.localtime(post.ends_at) if post.ends_at else start)
    description = post.summary
    if post.kind == Post.Kind.WORKS and post.traffic:
        description = f"{description}\nCirculation : {post.get_traffic_display()}".strip()
    event.add("description", description)
    if post.place:
        event.add("location", post.place)
    event.add("url", f"{site}{post.get_absolute_url()}")
    event.add("categories", [post.get_kind_display()] + ([post.topic.name] if post.topic_id else []))
    event.add("status", "CONFIRMED")
    return event
