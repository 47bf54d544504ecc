"""Rendered fragments of public pages, kept in each process.

Keys hold the id of the commune's last public event (``live_since``): a
publication makes every process's fragments unreachable at once, with no
message to send. Entries also expire after a short time, for what depends
on the clock ("upcoming"), and the store is bounded in bytes
(FRAGMENTS_MAX_BYTES), the least recently used fragments going first.

An ordered dict rather than Django's local-memory cache: that one pickles each
value, hashes each key and takes a lock, about 12 µs per fragment, several
times per page on the path that must stay fast (docs/benchmarks.md).
"""

import time
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings

TTL_SECONDS = 60.0
MAX_BYTES = 32 * 1024 * 1024
ENTRY_OVERHEAD = 200  # the key, the tuple, the dict's slot: roughly


def _size(key: tuple, value) -> int:
    held = len(value) if isinstance(value, str | bytes) else 1024
    return held + sum(len(str(part)) for part in key) + ENTRY_OVERHEAD


class FragmentStore:
    """Bounded in bytes: the least recently used fragments go first."""

    def __init__(self, *, ttl: float = TTL_SECONDS, max_bytes: int = MAX_BYTES):
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[tuple, tuple[float, object, int]] = OrderedDict()

    def get_or_build(self, key: tuple, build: Callable[[], object]):
        now = time.monotonic()
        found = self.entries.get(key)
        if found is not None and found[0] > now:
            self.entries.move_to_end(key)
            return found[1]
        value = build()
        size = _size(key, value)
        if found is not None:
            self.size -= found[2]
            del self.entries[key]
        self.entries[key] = (now + self.ttl, value, size)
        self.size += size
        while self.size > self.max_bytes and self.entries:
            self.size -= self.entries.popitem(last=False)[1][2]
        return value

    def clear(self) -> None:
        self.entries = OrderedDict()
        self.size = 0


fragments = FragmentStore(max_bytes=settings.FRAGMENTS_MAX_BYTES)
