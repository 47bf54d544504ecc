"""Rendered fragments of public pages, kept in each process.

Keys hold the id of the commune's last public event (``live_since``): a
publication makes every process's fragments unreachable at once, with no
message to send. Entries also expire after a short time, for what depends
on the clock ("upcoming"), and the store is emptied when it grows too big.

A plain dict rather than Django's local-memory cache: that one pickles each
value, hashes each key and takes a lock, about 12 µs per fragment, several
times per page on the path that must stay fast (docs/benchmarks.md).
"""

import time
from collections.abc import Callable

TTL_SECONDS = 60.0
MAX_ENTRIES = 5000


class FragmentStore:
    def __init__(self, *, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES):
        self.ttl = ttl
        self.max_entries = max_entries
        self.entries: dict[tuple, tuple[float, object]] = {}

    def get_or_build(self, key: tuple, build: Callable[[], object]):
        now = time.monotonic()
        found = self.entries.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = build()
        if len(self.entries) >= self.max_entries:
            self.entries = {}  # crude but safe: everything here can be rebuilt
        self.entries[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        self.entries = {}


fragments = FragmentStore()
