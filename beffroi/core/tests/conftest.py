"""The core's tests: their own journal key and anchor file; the tests of the
PostgreSQL roles are only collected when the suite runs on PostgreSQL (on
SQLite there is no role to test: collecting them there would only skip them)."""

import pytest
from django.conf import settings

from beffroi.core.journal_keys import new_key_item

collect_ignore = [] if settings.USING_POSTGRES else ["test_journal_roles_postgresql.py"]

TEST_JOURNAL_KEYS = new_key_item("j1")


@pytest.fixture(autouse=True)
def _journal_key_and_anchors(settings, tmp_path):
    settings.JOURNAL_KEYS = TEST_JOURNAL_KEYS
    settings.JOURNAL_ANCHOR_PATH = tmp_path / "journal" / "anchors.jsonl"
