"""The post lifecycle: every transition the table allows works, every other is refused."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from beffroi.core.models import JournalEntry
from beffroi.info.lifecycle import POST_LIFECYCLE
from beffroi.info.models import Post
from beffroi.info.services import post_create, post_transition
from beffroi.realtime.models import Event

S = Post.Status
ACTIONS = sorted({action for (_status, action) in POST_LIFECYCLE.transitions})


def _news(commune, editor, **fields):
    return post_create(
        actor=editor, commune=commune, kind=Post.Kind.NEWS, fields={"title": "Un titre", "summary": "Résumé", **fields}
    )


def _in_status(commune, editor, status):
    post = _news(commune, editor)
    Post.objects.filter(pk=post.pk).update(status=status)
    post.refresh_from_db()
    return post


@pytest.mark.parametrize("status", S.values)
@pytest.mark.parametrize("action", ACTIONS)
def test_each_pair_is_allowed_exactly_when_the_table_says_so(commune, editor, status, action):
    post = _in_status(commune, editor, status)
    publish_at = timezone.now() + timedelta(days=1)
    expected = POST_LIFECYCLE.transitions.get((status, action))
    journal_before = JournalEntry.objects.count()
    if expected is None:
        with pytest.raises(ValidationError, match="Action impossible"):
            post_transition(actor=editor, post=post, action=action, publish_at=publish_at)
        post.refresh_from_db()
        assert post.status == status
        assert JournalEntry.objects.count() == journal_before
    else:
        post = post_transition(actor=editor, post=post, action=action, publish_at=publish_at)
        assert post.status == expected
        assert JournalEntry.objects.filter(action=f"post.{action}").exists()


def test_an_unknown_action_is_refused(commune, editor):
    with pytest.raises(ValidationError):
        post_transition(actor=editor, post=_news(commune, editor), action="delete_everything")


def test_publishing_announces_pushes_once_and_journals(commune, editor):
    post = _news(commune, editor)
    assert not Event.objects.exists()
    post = post_transition(actor=editor, post=post, action="publish")
    event = Event.objects.get()
    assert event.type == "post.published" and event.channel == f"public:{commune.pk}"
    assert event.data["post"]["title"] == "Un titre"
    assert DBTaskResult.objects.filter(task_path="beffroi.info.tasks.push_post").count() == 1
    # Withdrawn then published again: announced again, but not pushed twice.
    post = post_transition(actor=editor, post=post, action="withdraw")
    post_transition(actor=editor, post=post, action="publish")
    assert [e.type for e in Event.objects.order_by("id")] == ["post.published", "post.removed", "post.published"]
    assert DBTaskResult.objects.filter(task_path="beffroi.info.tasks.push_post").count() == 1
    actions = list(JournalEntry.objects.filter(object_id=str(post.pk)).order_by("seq").values_list("action", flat=True))
    assert actions == ["post.create", "post.publish", "post.withdraw", "post.publish"]


def test_scheduling_needs_a_future_date(commune, editor):
    post = _news(commune, editor)
    with pytest.raises(ValidationError, match="à venir"):
        post_transition(actor=editor, post=post, action="schedule", publish_at=timezone.now() - timedelta(minutes=1))
    post.refresh_from_db()
    assert post.status == S.DRAFT


def test_an_expired_post_cannot_be_published(commune, editor):
    post = _news(commune, editor, expires_at=timezone.now() + timedelta(hours=1))
    Post.objects.filter(pk=post.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(ValidationError, match="déjà expiré"):
        post_transition(actor=editor, post=post, action="publish")


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        (Post.Kind.ALERT, {"title": "Alerte", "summary": "Message"}, "niveau"),
        (Post.Kind.ALERT, {"title": "Alerte", "level": "danger", "summary": "Message"}, "expire"),
        (Post.Kind.EVENT, {"title": "Fête", "place": "Salle"}, "début"),
        (Post.Kind.EVENT, {"title": "Fête", "starts_at": timezone.now()}, "lieu"),
    ],
)
def test_each_kind_requires_its_own_fields(commune, editor, kind, fields, message):
    with pytest.raises(ValidationError, match=message):
        post_create(actor=editor, commune=commune, kind=kind, fields=fields)
    assert not Post.objects.exists()
    assert not JournalEntry.objects.exists()


def test_an_event_cannot_end_before_it_starts(commune, editor):
    start = timezone.now() + timedelta(days=2)
    with pytest.raises(ValidationError, match="précéder"):
        post_create(
            actor=editor, commune=commune, kind=Post.Kind.EVENT,
            fields={"title": "Fête", "place": "Salle", "starts_at": start, "ends_at": start - timedelta(hours=1)},
        )
