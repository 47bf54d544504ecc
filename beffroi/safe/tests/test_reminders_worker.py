"""Reminders through the real worker and the fake OVH API: a worker killed
with SIGKILL in the middle of the run loses none and sends none twice."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from beffroi.notify.sms.models import SmsMessage
from beffroi.notify.sms.tests.test_worker import Workers, _wait_for
from beffroi.safe.access import Viewer
from beffroi.safe.models import Reminder
from beffroi.safe.services.accounts import safe_open
from beffroi.safe.services.records import record_save
from beffroi.safe.tasks import ensure_reminders_scheduled
from beffroi.safe.tests.conftest import PASSWORD, verify_phone
from fakes.ovh_sms import FakeOvh

pytestmark = pytest.mark.django_db(transaction=True)

COUNT = 240


# Twelve safes share one number and get 240 reminders: the caps of the day are
# not what this test is about (notify/sms/tests/test_caps.py).
ROOMY_CAPS = {name: "100000" for name in ("SMS_DAILY_MAX_PER_NUMBER", "SMS_DAILY_MAX_VERIFY_PER_NUMBER",
                                          "SMS_DAILY_MAX_PER_ACCOUNT", "SMS_DAILY_BUDGET_PER_ORGANISATION",
                                          "SMS_DAILY_BUDGET_PLATFORM")}


class SafeWorkers(Workers):
    """The worker also needs the suite's keyring, to read the appointments."""

    def start(self):
        previous = dict(self.fake.credentials())
        self.fake.credentials = lambda: {**previous, "SAFE_KEYRING_PATH": str(settings.SAFE_KEYRING_PATH),
                                         **ROOMY_CAPS}
        return super().start()


@pytest.fixture
def fake_ovh():
    with FakeOvh() as fake:
        yield fake


@pytest.fixture
def workers(fake_ovh, tmp_path):
    group = SafeWorkers(fake_ovh, tmp_path)
    yield group
    group.stop_all()


def test_reminders_are_sent_once_even_when_the_worker_is_killed(commune, fake_ovh, workers, settings):
    fake_ovh.latency = 0.01  # a distant API: the kill lands while messages are in flight
    for name, value in ROOMY_CAPS.items():
        setattr(settings, name, int(value))
    safes = []
    for i in range(12):
        safe = safe_open(username=f"personne{i}", password=PASSWORD, phone="06 12 34 56 78")
        verify_phone(safe)  # reminders go only to a verified number
        safes.append(safe.owner)
    SmsMessage.objects.filter(purpose="verify").delete()  # sent long ago: this test counts the reminders
    soon = timezone.now() + timedelta(hours=3)
    for i in range(COUNT // 2):
        owner = safes[i % len(safes)]
        # Two reminders each (one hour and two hours before), both already due.
        record_save(viewer=Viewer(owner), safe=owner.safe, kind="appointment", data={"title": f"Rendez-vous {i}"},
                    starts_at=soon, reminders=[60, 120])
    # Time passes: all are due now (the run waiting for the first due time is replaced by one due now).
    Reminder.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    ensure_reminders_scheduled()
    assert Reminder.objects.filter(status="pending").count() == COUNT

    first = workers.start()
    assert _wait_for(lambda: fake_ovh.stats()["accepted"] >= COUNT // 4, timeout=60), workers.logs()
    workers.kill(first)
    sent_before = fake_ovh.stats()["accepted"]
    assert sent_before < COUNT, "the worker finished before it could be killed: make the run longer"

    workers.start()
    assert _wait_for(lambda: SmsMessage.objects.filter(status="sent").count() == COUNT, timeout=120), workers.logs()
    stats = fake_ovh.stats()
    assert stats["accepted"] == COUNT and stats["tags"] == COUNT and stats["duplicate_tags"] == 0
    assert not Reminder.objects.exclude(status="queued").exists()
    tags = set(SmsMessage.objects.values_list("tag", flat=True))
    assert tags == {f"r{pk}" for pk in Reminder.objects.values_list("pk", flat=True)}
