"""Writes of the information feed. Each is one transaction with its journal entry.

Files are written before the transaction (and removed if it fails); what
follows the commit (live events, push, scheduled jobs) is recorded in the same
transaction, so that nothing is announced of a change that did not happen.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from beffroi.core import journal
from beffroi.core.images import CleanImage
from beffroi.core.stored_images import StoredImage, store_image
from beffroi.core.tasks import enqueue
from beffroi.info import tasks
from beffroi.info.lifecycle import POST_LIFECYCLE
from beffroi.info.models import Post
from beffroi.info.presenters import post_data
from beffroi.realtime import channels
from beffroi.realtime.publish import publish

EDITABLE_FIELDS = (
    "title",
    "summary",
    "body",
    "topic",
    "place",
    "starts_at",
    "ends_at",
    "traffic",
    "level",
    "expires_at",
    "image_alt",
)


def _store_image(image: CleanImage) -> StoredImage:
    return store_image(image, folder="publications")


def _post_image(post: Post) -> StoredImage | None:
    if not post.image:
        return None
    return StoredImage(post.image.name, dict(post.image_renditions), post.image_width, post.image_height)


def _set_image(post: Post, stored: StoredImage | None) -> None:
    post.image = stored.name if stored else ""
    post.image_renditions = stored.renditions if stored else {}
    post.image_width = stored.width if stored else None
    post.image_height = stored.height if stored else None


def _announce(post: Post, event_type: str) -> None:
    publish(channel=channels.public(post.organisation_id), type=event_type, data={"post": post_data(post)})


def _schedule_jobs(post: Post) -> None:
    """Ask the worker to come back when this post must change by itself."""
    if post.status == Post.Status.SCHEDULED and post.publish_at:
        enqueue(tasks.apply_due_changes, run_after=post.publish_at)
    if post.status in (Post.Status.SCHEDULED, Post.Status.PUBLISHED) and post.expires_at:
        enqueue(tasks.apply_due_changes, run_after=post.expires_at)


def _validated(post: Post) -> None:
    post.full_clean(exclude=["slug", "organisation", "created_by", "image"])


def _with_image_cleanup(stored: StoredImage | None, write):
    """Run a write; if it fails, remove the image files written for it."""
    try:
        return write()
    except BaseException:
        if stored is not None:
            stored.delete()
        raise


def post_create(*, actor, commune, kind: str, fields: dict, sectors=(), image: CleanImage | None = None) -> Post:
    stored = _store_image(image) if image is not None else None

    @transaction.atomic
    def write():
        post = Post(organisation=commune, kind=kind, created_by=actor)
        for name in EDITABLE_FIELDS:
            if name in fields:
                setattr(post, name, fields[name])
        _set_image(post, stored)
        _validated(post)
        post.save()
        post.sectors.set(sectors)
        journal.record(
            actor=actor, organisation=commune, action="post.create", target=post, data={"kind": kind}
        )
        return post

    return _with_image_cleanup(stored, write)


def post_update(
    *, actor, post: Post, fields: dict, sectors=None, image: CleanImage | None = None, remove_image: bool = False
) -> Post:
    stored = _store_image(image) if image is not None else None

    @transaction.atomic
    def write():
        current = Post.objects.select_for_update().get(pk=post.pk)
        previous_image = _post_image(current)
        changed = [name for name in EDITABLE_FIELDS if name in fields and getattr(current, name) != fields[name]]
        for name in changed:
            setattr(current, name, fields[name])
        if stored is not None or remove_image:
            _set_image(current, stored)
            changed.append("image")
            if previous_image is not None:
                transaction.on_commit(previous_image.delete)
        _validated(current)
        current.save()
        if sectors is not None:
            before = set(current.sectors.values_list("pk", flat=True))
            current.sectors.set(sectors)
            if before != {s.pk for s in sectors}:
                changed.append("sectors")
        journal.record(
            actor=actor, organisation=current.organisation, action="post.update", target=current, data={"changed": changed}
        )
        if current.status == Post.Status.PUBLISHED and changed:
            _announce(current, "post.updated")
        if "expires_at" in changed or "publish_at" in changed:
            _schedule_jobs(current)
        return current

    return _with_image_cleanup(stored, write)


@transaction.atomic
def post_transition(*, actor, post: Post, action: str, publish_at=None, now=None) -> Post:
    """Move a post along its lifecycle (publish, schedule, withdraw...)."""
    now = now or timezone.now()
    current = Post.objects.select_for_update().get(pk=post.pk)
    target = POST_LIFECYCLE.target(current.status, action, status_label=current.get_status_display())
    if action == "schedule":
        if publish_at is None or publish_at <= now:
            raise ValidationError({"publish_at": "Choisissez une date de publication à venir."})
        current.publish_at = publish_at
    if target == Post.Status.PUBLISHED:
        if current.expires_at and current.expires_at <= now:
            raise ValidationError({"expires_at": "Cette publication a déjà expiré : repoussez d’abord sa date de fin."})
        current.published_at = now
        current.publish_at = None
    if action == "unschedule":
        current.publish_at = None
    previous = current.status
    current.status = target
    _validated(current)
    current.save()
    journal.record(
        actor=actor,
        organisation=current.organisation,
        action=f"post.{action}",
        target=current,
        data={"from": previous, "to": target, **({"publish_at": publish_at.isoformat()} if publish_at else {})},
    )
    if target == Post.Status.PUBLISHED:
        _announce(current, "post.published")
        if current.pushed_at is None:
            # Once per post, even if it is withdrawn and published again.
            current.pushed_at = now
            current.save(update_fields=["pushed_at"])
            enqueue(tasks.push_post, current.pk)
    elif previous == Post.Status.PUBLISHED:
        _announce(current, "post.removed")
    _schedule_jobs(current)
    return current


@transaction.atomic
def post_delete(*, actor, post: Post) -> None:
    current = Post.objects.select_for_update().get(pk=post.pk)
    if current.status in (Post.Status.PUBLISHED, Post.Status.SCHEDULED):
        raise ValidationError("Retirez ou déprogrammez d’abord cette publication avant de la supprimer.")
    image = _post_image(current)
    journal.record(
        actor=actor,
        organisation=current.organisation,
        action="post.delete",
        target=current,
        data={"kind": current.kind, "title": current.title},
    )
    current.delete()
    if image is not None:
        transaction.on_commit(image.delete)


def apply_due_changes(*, now=None) -> dict:
    """Publish what is scheduled and expire what is over (run by the worker).

    Idempotent: each post is handled in its own transaction, under lock, and
    only if it is still due, so duplicate or late jobs change nothing.
    """
    now = now or timezone.now()
    done = {"published": 0, "expired": 0}
    for pk in list(Post.objects.due_for_publication(now).values_list("pk", flat=True)):
        if _apply_if_due(pk, "publish", now):
            done["published"] += 1
    for pk in list(Post.objects.due_for_expiry(now).values_list("pk", flat=True)):
        if _apply_if_due(pk, "expire", now):
            done["expired"] += 1
    return done


def _apply_if_due(pk: int, action: str, now) -> bool:
    with transaction.atomic():
        due = Post.objects.select_for_update().filter(pk=pk)
        due = due.due_for_publication(now) if action == "publish" else due.due_for_expiry(now)
        post = due.first()
        if post is None:
            return False
        if action == "publish" and post.expires_at and post.expires_at <= now:
            # Scheduled past its own end: it never goes out.
            post_transition(actor=None, post=post, action="unschedule", now=now)
            return False
        post_transition(actor=None, post=post, action=action, now=now)
        return True
