"""The dispatcher with the ovh backend, against the fake OVH API over HTTP."""

from datetime import timedelta

import pytest
from django.utils import timezone

from beffroi.notify.sms.dispatch import MAX_ATTEMPTS, dispatch_due
from beffroi.notify.sms.models import SmsMessage
from beffroi.notify.sms.services import sms_enqueue

pytestmark = pytest.mark.django_db

TEXT = "Rappel : votre rendez-vous en mairie est demain à 9 h."


def _enqueue(tag="rem-1", to="06 12 34 56 78", text=TEXT, purpose="reminder"):
    return sms_enqueue(to=to, text=text, purpose=purpose, verified=True, tag=tag)


def _reload(message) -> SmsMessage:
    message.refresh_from_db()
    return message


def test_an_accepted_message_is_sent_with_the_fields_ovh_expects(ovh):
    message = _enqueue()
    assert dispatch_due() == {"claimed": 1, "sent": 1}

    [accepted] = ovh.accepted
    assert (accepted.tag, accepted.receiver, accepted.message) == ("rem-1", "+33612345678", TEXT)
    assert (accepted.sender, accepted.no_stop_clause, accepted.priority) == ("MAIRIE", True, "high")
    message = _reload(message)
    assert message.status == "sent"
    assert message.provider_id == str(accepted.id)
    assert message.sent_at is not None and message.next_attempt_at is None
    assert message.attempts == 1 and message.last_error == ""
    # A first attempt goes straight to the send: no lookup.
    assert ovh.stats()["lookups"] == 0
    assert dispatch_due() == {}


def test_a_503_is_retried_after_the_backoff_and_the_message_sent_once(ovh):
    message = _enqueue()
    ovh.fail_next(1, status=503)
    start = timezone.now()
    assert dispatch_due(now=start) == {"claimed": 1, "retried": 1}
    message = _reload(message)
    assert message.status == "queued" and message.attempts == 1
    assert message.next_attempt_at == start + timedelta(seconds=30)
    assert message.last_error == "Service SMS d’OVH indisponible (HTTP 503)."
    assert ovh.ids_for("rem-1") == []

    assert dispatch_due(now=start + timedelta(seconds=29)) == {}  # not due yet
    assert dispatch_due(now=start + timedelta(seconds=30)) == {"claimed": 1, "sent": 1}
    message = _reload(message)
    assert message.status == "sent" and message.attempts == 2 and message.last_error == ""
    assert [int(message.provider_id)] == ovh.ids_for("rem-1")
    # The second attempt asked OVH about the tag before sending.
    assert ovh.stats()["lookups"] == 1


def test_a_503_after_ovh_kept_the_message_does_not_send_it_twice(ovh):
    message = _enqueue()
    ovh.fail_next(1, status=500, record=True)  # accepted, then an error page
    start = timezone.now()
    assert dispatch_due(now=start) == {"claimed": 1, "retried": 1}
    assert len(ovh.ids_for("rem-1")) == 1

    assert dispatch_due(now=start + timedelta(seconds=30)) == {"claimed": 1, "found": 1}
    message = _reload(message)
    assert message.status == "sent" and [int(message.provider_id)] == ovh.ids_for("rem-1")
    assert ovh.stats()["accepted"] == 1


def test_the_delays_grow_then_the_message_fails_with_a_reason_in_french(ovh):
    message = _enqueue()
    ovh.fail_next(MAX_ATTEMPTS, status=503)
    now = timezone.now()
    delays = []
    for _ in range(MAX_ATTEMPTS - 1):
        assert dispatch_due(now=now) == {"claimed": 1, "retried": 1}
        message = _reload(message)
        delays.append(message.next_attempt_at - now)
        now = message.next_attempt_at
    assert delays == [
        timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6)
    ]
    assert dispatch_due(now=now) == {"claimed": 1, "failed": 1}
    message = _reload(message)
    assert message.status == "failed" and message.attempts == MAX_ATTEMPTS
    assert message.last_error == "Abandon après 6 tentatives. Service SMS d’OVH indisponible (HTTP 503)."
    assert message.next_attempt_at is None and message.sent_at is None
    assert ovh.stats()["accepted"] == 0
    assert dispatch_due(now=now + timedelta(days=1)) == {}


def test_a_number_ovh_refuses_fails_at_once_with_a_reason_in_french(ovh):
    ovh.refuse_receivers("+33700000000")
    message = _enqueue(to="07 00 00 00 00")
    assert dispatch_due() == {"claimed": 1, "failed": 1}
    message = _reload(message)
    assert message.status == "failed" and message.attempts == 1
    assert message.last_error == "Numéro refusé par OVH (invalide ou injoignable)."
    assert ovh.stats()["accepted"] == 0


@pytest.mark.parametrize("provider_kept_it", [True, False])
def test_a_timeout_is_retried_and_the_message_sent_once(ovh, settings, provider_kept_it):
    settings.SMS_TIMEOUT_SECONDS = 0.5
    message = _enqueue()
    ovh.stall_next(1, seconds=5, record=provider_kept_it)
    start = timezone.now()
    assert dispatch_due(now=start) == {"claimed": 1, "retried": 1}
    message = _reload(message)
    assert message.status == "queued"
    assert message.last_error == "Pas de réponse d’OVH (délai dépassé)."
    assert len(ovh.ids_for("rem-1")) == (1 if provider_kept_it else 0)

    expected = "found" if provider_kept_it else "sent"
    assert dispatch_due(now=start + timedelta(seconds=30)) == {"claimed": 1, expected: 1}
    message = _reload(message)
    assert message.status == "sent"
    assert [int(message.provider_id)] == ovh.ids_for("rem-1")


def test_a_failed_lookup_sends_nothing_and_waits(ovh, settings):
    message = _enqueue()
    ovh.fail_next(1, status=503)
    start = timezone.now()
    dispatch_due(now=start)
    settings.SMS_OVH_SERVICE_NAME = "sms-unknown-9"  # the lookup gets a 404
    assert dispatch_due(now=start + timedelta(seconds=30)) == {"claimed": 1, "retried": 1}
    message = _reload(message)
    assert message.status == "queued" and message.attempts == 2
    assert message.last_error == "Vérification auprès d’OVH impossible (HTTP 404)."
    assert ovh.stats()["accepted"] == 0


def test_the_text_of_a_one_time_code_is_erased_once_sent(ovh):
    message = _enqueue(tag="code-1", text="Votre code : 482 913. Il expire dans 10 minutes.", purpose="code")
    dispatch_due()
    message = _reload(message)
    assert message.status == "sent" and message.text == ""
    assert ovh.accepted[0].message == "Votre code : 482 913. Il expire dans 10 minutes."


def test_many_messages_go_out_concurrently_each_once(ovh, settings):
    settings.SMS_CONCURRENCY = 16
    ovh.latency = 0.05
    messages = [_enqueue(tag=f"rem-{i}") for i in range(150)]
    assert dispatch_due() == {"claimed": 150, "sent": 150}
    stats = ovh.stats()
    assert stats["accepted"] == 150 and stats["duplicate_tags"] == 0
    for message in messages:
        assert [int(_reload(message).provider_id)] == ovh.ids_for(message.tag)
