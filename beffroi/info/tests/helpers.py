from datetime import timedelta

from django.utils import timezone

from beffroi.info.models import Post
from beffroi.info.services import post_create, post_transition


def published(commune, actor, kind=Post.Kind.NEWS, sectors=(), **fields):
    defaults = {"title": "Une publication", "summary": "Un résumé."}
    if kind in (Post.Kind.EVENT, Post.Kind.WORKS):
        start = timezone.now() + timedelta(days=3)
        defaults.update(starts_at=start, ends_at=start + timedelta(hours=2), place="Salle des fêtes")
    if kind == Post.Kind.ALERT:
        defaults.update(level=Post.Level.DANGER, expires_at=timezone.now() + timedelta(days=1))
    post = post_create(actor=actor, commune=commune, kind=kind, fields={**defaults, **fields}, sectors=sectors)
    return post_transition(actor=actor, post=post, action="publish")
