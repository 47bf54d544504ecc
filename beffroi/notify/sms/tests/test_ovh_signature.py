"""OVH's request signature, and the fake API's checks of it."""

import time

import pytest

from beffroi.notify.sms.base import Outgoing
from beffroi.notify.sms.ovh import OvhBackend, ovh_signature

SECRET = "EgWIz07P0HYwtQDs"
CONSUMER = "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1"
URL = "https://eu.api.ovh.com/1.0/sms/sms-ab12345-1"
BODY = '{"message":"Rappel : votre rendez-vous est demain à 9 h","receivers":["+33612345678"],"tag":"rem-42"}'


def test_the_signature_of_a_post_is_the_sha1_of_the_joined_fields():
    # Computed apart, with coreutils, from the UTF-8 bytes:
    # printf '%s' 'EgWIz…+MtSw…+POST+https://…/jobs+{…}+1700000000' | sha1sum
    signature = ovh_signature(
        application_secret=SECRET, consumer_key=CONSUMER, method="POST", url=f"{URL}/jobs", body=BODY,
        timestamp="1700000000",
    )
    assert signature == "$1$b14f73e5298d7bf75c93983d22ad1d51c2f38b0f"


def test_a_get_is_signed_with_its_query_and_an_empty_body():
    signature = ovh_signature(
        application_secret=SECRET, consumer_key=CONSUMER, method="get", url=f"{URL}/outgoing?tag=rem-42", body="",
        timestamp="1700000000",
    )
    assert signature == "$1$a7edc4be9a263d07ae56de31e71dd513351a2459"


def _backend(fake, **changes) -> OvhBackend:
    credentials = fake.credentials()
    options = {
        "endpoint": credentials["SMS_OVH_ENDPOINT"],
        "application_key": credentials["SMS_OVH_APPLICATION_KEY"],
        "application_secret": credentials["SMS_OVH_APPLICATION_SECRET"],
        "consumer_key": credentials["SMS_OVH_CONSUMER_KEY"],
        "service_name": credentials["SMS_OVH_SERVICE_NAME"],
        "timeout": 2.0,
        **changes,
    }
    return OvhBackend(**options)


def _deliver(backend, tag="t-1"):
    message = Outgoing(tag=tag, to="+33612345678", text="Bonjour")
    return backend.deliver([message], deadline=time.monotonic() + 30)[0]


def test_the_fake_api_accepts_a_correctly_signed_send(fake_ovh):
    outcome = _deliver(_backend(fake_ovh))
    assert outcome.kind == "sent"
    assert fake_ovh.ids_for("t-1") == [int(outcome.provider_id)]
    assert fake_ovh.stats()["rejected"] == 0


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"application_secret": "not-the-secret"}, 400),
        ({"application_key": "unknown-key"}, 403),
        ({"consumer_key": "unknown-consumer"}, 403),
    ],
)
def test_the_fake_api_refuses_bad_credentials_and_the_message_is_kept_for_later(fake_ovh, changes, status):
    outcome = _deliver(_backend(fake_ovh, **changes))
    # Keys or clock: the operator fixes the configuration, the message waits.
    assert outcome.kind == "retry"
    assert outcome.reason == (
        f"Accès à l’API OVH refusé (HTTP {status}) : vérifier les clés et l’heure du serveur."
    )
    assert fake_ovh.stats()["rejected"] == 1
    assert fake_ovh.ids_for("t-1") == []


def test_the_fake_api_refuses_a_timestamp_out_of_its_window(fake_ovh):
    backend = _backend(fake_ovh)
    backend.timestamp = lambda: str(int(time.time()) - 600)  # our clock ten minutes behind
    outcome = _deliver(backend)
    assert outcome.kind == "retry" and "HTTP 400" in outcome.reason
    assert fake_ovh.stats()["rejected"] == 1 and fake_ovh.stats()["accepted"] == 0
