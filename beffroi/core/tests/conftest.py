"""The core's tests: their own journal key and anchor file, a controlled clock
for the abuse counters; the tests of the PostgreSQL roles are only collected
when the suite runs on PostgreSQL (on SQLite there is no role to test:
collecting them there would only skip them)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from beffroi.core import counters
from beffroi.core.journal_keys import new_key_item

collect_ignore = [] if settings.USING_POSTGRES else ["test_journal_roles_postgresql.py"]

TEST_JOURNAL_KEYS = new_key_item("j1")


@pytest.fixture(autouse=True)
def _journal_key_and_anchors(settings, tmp_path):
    settings.JOURNAL_KEYS = TEST_JOURNAL_KEYS
    settings.JOURNAL_ANCHOR_PATH = tmp_path / "journal" / "anchors.jsonl"


class Clock:
    """The counters' clock, moved by the test."""

    def __init__(self):
        self.now = timezone.now().replace(microsecond=0)

    def __call__(self):
        return self.now

    def advance(self, **kwargs):
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock(monkeypatch):
    controlled = Clock()
    monkeypatch.setattr(counters, "clock", controlled)
    return controlled
