"""Plain-data views of posts, shared by live events, the JSON API and panels."""

from django.core.files.storage import default_storage

from beffroi.info.models import Post


def _iso(value):
    return value.isoformat() if value else None


def post_data(post: Post) -> dict:
    smallest = post.rendition_widths()[:1]
    return {
        "id": post.pk,
        "kind": post.kind,
        "kind_label": post.get_kind_display(),
        "title": post.title,
        "summary": post.summary,
        "url": post.get_absolute_url(),
        "topic": post.topic.name if post.topic_id else None,
        "sectors": [s.name for s in post.sectors.all()],
        "level": post.level or None,
        "level_label": post.get_level_display() or None,
        "place": post.place or None,
        "traffic": post.traffic or None,
        "traffic_label": post.get_traffic_display() or None,
        "starts_at": _iso(post.starts_at),
        "ends_at": _iso(post.ends_at),
        "published_at": _iso(post.published_at),
        "expires_at": _iso(post.expires_at),
        "image": default_storage.url(post.image_renditions[str(smallest[0])]) if smallest else None,
        "image_alt": post.image_alt or None,
    }
