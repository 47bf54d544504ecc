"""Fixtures of the SMS tests: the fake OVH API, served for real on 127.0.0.1."""

import pytest

from fakes.ovh_sms import FakeOvh


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


@pytest.fixture(autouse=True)
def roomy_caps(settings):
    """The outbox's tests send many messages to one number: caps far away
    (test_caps.py sets its own and tests them)."""
    settings.SMS_DAILY_MAX_PER_NUMBER = settings.SMS_DAILY_MAX_PER_ACCOUNT = 100_000
    settings.SMS_DAILY_BUDGET_PER_ORGANISATION = settings.SMS_DAILY_BUDGET_PLATFORM = 100_000
