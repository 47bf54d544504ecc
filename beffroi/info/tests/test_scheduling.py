"""Scheduled publication and expiry, carried out by the worker."""

from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from beffroi.core.models import JournalEntry
from beffroi.info.models import Post
from beffroi.info.services import apply_due_changes, post_create, post_transition
from beffroi.realtime.models import Event


def _alert(commune, editor, expires_in):
    return post_create(
        actor=editor,
        commune=commune,
        kind=Post.Kind.ALERT,
        fields={"title": "Coupure d’eau", "summary": "Rue Jean Jaurès", "level": "warning",
                "expires_at": timezone.now() + expires_in},
    )


def test_scheduling_enqueues_jobs_for_publication_and_expiry(commune, editor):
    post = _alert(commune, editor, timedelta(hours=5))
    publish_at = timezone.now() + timedelta(hours=1)
    post_transition(actor=editor, post=post, action="schedule", publish_at=publish_at)
    jobs = DBTaskResult.objects.filter(task_path="beffroi.info.tasks.apply_due_changes").order_by("run_after")
    assert [job.run_after for job in jobs] == [publish_at, post.expires_at]


def test_due_changes_publish_then_expire_in_due_time(commune, editor):
    post = _alert(commune, editor, timedelta(hours=5))
    post = post_transition(actor=editor, post=post, action="schedule", publish_at=timezone.now() + timedelta(hours=1))

    assert apply_due_changes() == {"published": 0, "expired": 0}
    assert apply_due_changes(now=timezone.now() + timedelta(hours=2)) == {"published": 1, "expired": 0}
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    # A late or duplicate job changes nothing.
    assert apply_due_changes(now=timezone.now() + timedelta(hours=2)) == {"published": 0, "expired": 0}

    assert apply_due_changes(now=timezone.now() + timedelta(hours=6)) == {"published": 0, "expired": 1}
    post.refresh_from_db()
    assert post.status == Post.Status.EXPIRED
    assert [e.type for e in Event.objects.order_by("id")] == ["post.published", "post.removed"]
    system = JournalEntry.objects.filter(actor_id__isnull=True).values_list("action", flat=True)
    assert sorted(system) == ["post.expire", "post.publish"]


def test_a_post_scheduled_past_its_own_end_never_goes_out(commune, editor):
    post = _alert(commune, editor, timedelta(hours=2))
    post_transition(actor=editor, post=post, action="schedule", publish_at=timezone.now() + timedelta(hours=1))
    Post.objects.filter(pk=post.pk).update(expires_at=timezone.now() + timedelta(minutes=90))
    assert apply_due_changes(now=timezone.now() + timedelta(hours=3)) == {"published": 0, "expired": 0}
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT
    assert not Event.objects.exists()
