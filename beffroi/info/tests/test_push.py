"""Web Push to inhabitants, against a local push service that decrypts everything."""

import json

import pytest
from django_tasks_db.models import DBTaskResult

from beffroi.info.models import FeedSubscription, Post
from beffroi.info.push import push_post
from beffroi.info.tests.helpers import published
from fakes.push_service import FakePushService


@pytest.fixture
def push_service(settings):
    with FakePushService() as service:
        settings.PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
        yield service


def _subscribe(client, subscription, host="testserver", **choices):
    body = {**subscription.as_json(), **choices}
    response = client.post("/api/v1/push/subscriptions", json.dumps(body), content_type="application/json", HTTP_HOST=host)
    assert response.status_code == 201, response.content
    return subscription


def _received(service):
    return {d.subscription_id: json.loads(d.plaintext) for d in service.received}


def test_each_browser_gets_what_it_chose(client, commune, other_commune, editor, topic, sector, push_service):
    from conftest import make_staff

    only_alerts = _subscribe(client, push_service.subscribe(), alerts=True)
    culture = _subscribe(client, push_service.subscribe(), alerts=False, topics=["culture"])
    culture_in_centre = _subscribe(client, push_service.subscribe(), alerts=True, topics=["culture"], sectors=["centre"])
    elsewhere = _subscribe(client, push_service.subscribe(), host="douvrin.testserver", alerts=True)

    concert = published(commune, editor, title="Concert", summary="Samedi soir", topic=topic)
    assert push_post(post_id=concert.pk)["sent"] == 2
    received = _received(push_service)
    assert set(received) == {culture.id, culture_in_centre.id}
    assert received[culture.id] == {
        "title": "Concert", "body": "Samedi soir", "url": concert.get_absolute_url(), "tag": f"post-{concert.pk}", "kind": "news",
    }

    push_service.received.clear()
    alert = published(commune, editor, kind=Post.Kind.ALERT, title="Crue", summary="Montez à l’étage", sectors=[sector])
    assert push_post(post_id=alert.pk)["sent"] == 2
    assert set(_received(push_service)) == {only_alerts.id, culture_in_centre.id}
    assert all(d.urgency == "high" for d in push_service.received)

    push_service.received.clear()
    other_alert = published(other_commune, make_staff(other_commune), kind=Post.Kind.ALERT, title="Ailleurs")
    push_post(post_id=other_alert.pk)
    assert set(_received(push_service)) == {elsewhere.id}


@pytest.mark.parametrize("status", [404, 410])
def test_gone_subscriptions_are_removed(client, commune, editor, push_service, status):
    gone = _subscribe(client, push_service.subscribe())
    kept = _subscribe(client, push_service.subscribe())
    push_service.answer(gone.id, status)
    alert = published(commune, editor, kind=Post.Kind.ALERT, title="Tempête")
    outcome = push_post(post_id=alert.pk)
    assert outcome["removed"] == 1 and outcome["sent"] == 1
    assert list(FeedSubscription.objects.values_list("endpoint", flat=True)) == [kept.endpoint]


def test_refused_pushes_are_retried_later(client, commune, editor, push_service):
    busy = _subscribe(client, push_service.subscribe())
    push_service.answer(busy.id, 503)
    alert = published(commune, editor, kind=Post.Kind.ALERT, title="Neige")
    assert push_post(post_id=alert.pk)["to_retry"] == 1
    retry = DBTaskResult.objects.get(task_path="beffroi.info.tasks.push_retry")
    assert retry.args_kwargs["args"] == [alert.pk, [busy.endpoint], 1]
    assert FeedSubscription.objects.filter(endpoint=busy.endpoint).exists()


def test_nothing_is_pushed_for_a_post_no_longer_visible(client, commune, editor, push_service):
    from beffroi.info.services import post_transition

    _subscribe(client, push_service.subscribe())
    alert = published(commune, editor, kind=Post.Kind.ALERT, title="Annulée")
    post_transition(actor=editor, post=alert, action="withdraw")
    assert push_post(post_id=alert.pk)["sent"] == 0
    assert push_service.received == []


def test_a_subscription_keeps_only_what_sending_needs(client, commune, topic, push_service):
    subscription = push_service.subscribe()
    client.post(
        "/api/v1/push/subscriptions",
        json.dumps({**subscription.as_json(), "topics": ["culture"]}),
        content_type="application/json",
        REMOTE_ADDR="203.0.113.77",
        HTTP_USER_AGENT="NavigateurTemoin/1.0",
    )
    columns = {f.name for f in FeedSubscription._meta.get_fields() if f.concrete}
    assert columns == {"id", "organisation", "endpoint", "p256dh", "auth", "alerts", "topics", "sectors"}
    stored = FeedSubscription.objects.get()
    assert (stored.endpoint, stored.p256dh, stored.auth) == (
        subscription.endpoint, subscription.p256dh, subscription.auth,
    )
    response = client.delete(
        "/api/v1/push/subscriptions",
        json.dumps({"endpoint": subscription.endpoint, "auth": subscription.auth}),
        content_type="application/json",
    )
    assert response.status_code == 204
    assert not FeedSubscription.objects.exists()


def test_a_key_off_the_curve_is_accepted_then_dropped_at_the_first_push(client, commune, editor, push_service):
    """The API checks what its document states (65 bytes, an uncompressed point's
    first byte); a key that is no point of the curve shows when a message is
    encrypted for it: that subscription goes, the others get the message."""
    import base64

    kept = _subscribe(client, push_service.subscribe())
    broken = push_service.subscribe()
    off_curve = base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).rstrip(b"=").decode()
    body = {**broken.as_json(), "keys": {"p256dh": off_curve, "auth": broken.as_json()["keys"]["auth"]}}
    response = client.post("/api/v1/push/subscriptions", json.dumps(body), content_type="application/json")
    assert response.status_code == 201
    alert = published(commune, editor, kind=Post.Kind.ALERT, title="Inondation")
    outcome = push_post(post_id=alert.pk)
    assert outcome["sent"] == 1 and outcome["removed"] == 1
    assert set(_received(push_service)) == {kept.id}
    assert list(FeedSubscription.objects.values_list("endpoint", flat=True)) == [kept.endpoint]
