"""Abuse limits: exact windows, atomic counts, clients by network, no address kept."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory

from beffroi.core import counters, throttle
from beffroi.core.models import Counter


def _request(address):
    return RequestFactory().post("/", REMOTE_ADDR=address)


def test_n_per_hour_holds_for_the_whole_hour(db, clock):
    allow = partial(throttle.allow, _request("192.0.2.1"), scope="test", limit=3, window_seconds=3600)
    assert [allow() for _ in range(4)] == [True, True, True, False]
    clock.advance(minutes=6)
    assert allow() is False  # quiet minutes do not reset the count
    clock.advance(minutes=53)
    assert allow() is False  # 59 minutes after the first attempt: still refused
    clock.advance(minutes=1)
    assert [allow() for _ in range(4)] == [True, True, True, False]  # a new hour


def test_the_window_opens_at_the_first_attempt_and_refusals_do_not_extend_it(db, clock):
    allow = partial(throttle.allow, scope="test", identity="key", limit=2, window_seconds=600)
    assert allow() is True
    clock.advance(minutes=9)
    assert allow() is True
    for _ in range(5):
        assert allow() is False
    clock.advance(minutes=1)  # ten minutes after the first attempt
    assert allow() is True


def test_scopes_and_identities_are_counted_apart(db, clock):
    request = _request("192.0.2.1")
    assert throttle.allow(request, scope="a", limit=1, window_seconds=60) is True
    assert throttle.allow(request, scope="a", limit=1, window_seconds=60) is False
    assert throttle.allow(request, scope="b", limit=1, window_seconds=60) is True
    assert throttle.allow(_request("192.0.2.2"), scope="a", limit=1, window_seconds=60) is True
    # An identity is not an address, even one that looks like it.
    assert throttle.allow(scope="a", identity="192.0.2.1", limit=1, window_seconds=60) is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_attempts_are_each_counted_once():
    """Eight threads (eight database connections) count at once: no count is lost."""

    def attempts():
        try:
            return [throttle.allow(scope="race", identity="key", limit=20, window_seconds=3600) for _ in range(5)]
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        results = [allowed for future in [pool.submit(attempts) for _ in range(8)] for allowed in future.result()]
    assert results.count(True) == 20
    assert Counter.objects.get().count == 40


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", True),  # one /64: one subscriber
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        ("192.0.2.1", "::ffff:192.0.2.1", True),  # IPv4 through a dual-stack socket
        ("192.0.2.1", "192.0.2.2", False),
        ("", "not an address", True),  # unparsable: one shared bucket
        ("", "192.0.2.1", False),
    ],
)
def test_clients_are_ipv4_addresses_and_ipv6_networks(first, second, same):
    digests = {counters.client_digest(_request(address), "scope") for address in (first, second)}
    assert (len(digests) == 1) is same


def test_a_host_hopping_within_its_ipv6_network_is_still_one_client(db, clock):
    for host in range(3):
        assert throttle.allow(_request(f"2001:db8:5:6::{host + 1}"), scope="t", limit=3, window_seconds=3600)
    assert not throttle.allow(_request("2001:db8:5:6:aaaa::1"), scope="t", limit=3, window_seconds=3600)
    assert throttle.allow(_request("2001:db8:5:7::1"), scope="t", limit=3, window_seconds=3600)


def test_keys_depend_on_the_secret_key(settings):
    before = counters.digest("scope", "ip:192.0.2.1")
    settings.SECRET_KEY = "another-secret-key-" * 3
    assert counters.digest("scope", "ip:192.0.2.1") != before


def test_the_daily_purge_deletes_what_has_expired(db, clock):
    throttle.allow(scope="short", identity="k", limit=1, window_seconds=60)
    throttle.allow(scope="long", identity="k", limit=1, window_seconds=3600)
    cache.set("cached-for-a-minute", 1, 60)
    cache.set("kept-until-deleted", 1, None)
    clock.advance(minutes=1)
    assert counters.purge() == 1
    assert Counter.objects.count() == 1
    assert counters.purge_cache(now=clock.now + timedelta(minutes=5)) == 1
    assert cache.get("kept-until-deleted") == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM beffroi_cache")
        assert cursor.fetchone()[0] == 1
