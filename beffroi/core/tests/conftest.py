from datetime import timedelta

import pytest
from django.utils import timezone

from beffroi.core import counters


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
