"""Fixtures of the SMS tests: the fake OVH API, served for real on 127.0.0.1."""

import pytest

from beffroi.notify.sms.fake_ovh import FakeOvh


@pytest.fixture
def fake_ovh():
    with FakeOvh() as fake:
        yield fake


@pytest.fixture
def ovh(settings, fake_ovh):
    """The ``ovh`` backend, pointed at the fake API."""
    settings.SMS_BACKEND = "ovh"
    for name, value in fake_ovh.credentials().items():
        setattr(settings, name, value)
    settings.SMS_SENDER = "MAIRIE"
    settings.SMS_TIMEOUT_SECONDS = 2.0
    settings.SMS_LEASE_SECONDS = 60
    return fake_ovh
