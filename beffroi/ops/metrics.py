"""The figures each web process keeps, and the Prometheus exposition.

Several web processes (uvicorn ``--workers``) answer on one port, so a scrape
reaches one of them at random. Each process therefore writes its figures with
prometheus_client's multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set
(one small memory-mapped file per process in that directory; beffroi-web.service
gives it a fresh directory at each start), and the process that answers the
scrape adds them all up. Without it (``make run``, tests) the figures are this
process's own. What lives in the database is read at scrape time instead
(``beffroi.ops.database``): the same answer from every process.

Requests and latencies are counted by view group (``beffroi.ops.routes``). The
page cache's hits and misses and the open event streams are read from the
edge's own counters (``PageCache.hits``, ``Hub.streams``) and copied here: at
each scrape, and every few seconds by a thread when several processes must add
them up.
"""

import glob
import os
import threading
import weakref
from functools import cache

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

# prometheus_client decides at import, from this variable, where values live.
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
EDGE_SAMPLE_SECONDS = 5.0
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# "_created" series (when each counter was made) mean nothing once added up
# across processes, and multiprocess mode leaves them out: leave them out always.
disable_created_metrics()

# This process's metrics. Not prometheus_client's global registry, whose
# process and garbage-collector figures would describe one random process.
LOCAL = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "beffroi_http_requests",
    "Requests answered by Django, by view group, method and status code.",
    ["group", "method", "code"],
    registry=LOCAL,
)
LATENCY = Histogram(
    "beffroi_http_request_duration_seconds",
    "Time Django took to answer, by view group (from the first middleware to the last byte).",
    ["group"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=LOCAL,
)
PAGE_CACHE_HITS = Counter("beffroi_page_cache_hits", "Anonymous pages served from the page cache.", registry=LOCAL)
PAGE_CACHE_MISSES = Counter(
    "beffroi_page_cache_misses", "Shareable requests the page cache passed to Django.", registry=LOCAL
)
PAGE_CACHE_ENTRIES = Gauge(
    "beffroi_page_cache_entries", "Pages kept by the page caches.", registry=LOCAL, multiprocess_mode="livesum"
)
PAGE_CACHE_BYTES = Gauge(
    "beffroi_page_cache_bytes", "Memory held by the page caches' pages, in bytes (PAGE_CACHE_MAX_BYTES each).",
    registry=LOCAL, multiprocess_mode="livesum",
)
STREAMS_OPEN = Gauge(
    "beffroi_sse_streams_open", "Event streams (SSE) open.", registry=LOCAL, multiprocess_mode="livesum"
)


def count_request(group: str, method: str, status: int, seconds: float) -> None:
    """``method``: one of METHODS, or "other" (never a client's own word: labels stay few)."""
    REQUESTS.labels(group, method, str(status)).inc()
    LATENCY.labels(group).observe(seconds)


# The edge's counters ------------------------------------------------------------


class _EdgeSource:
    """One edge application's page cache and hub, and what was copied of them."""

    def __init__(self, pages, hub):
        self.pages = pages
        self.hub = hub
        self.hits = self.misses = 0


_sources: "weakref.WeakSet[_EdgeSource]" = weakref.WeakSet()
_sample_lock = threading.Lock()
_sampler: threading.Thread | None = None


def watch_edge(*, pages, hub) -> _EdgeSource:
    """Follow an edge application's counters; the caller keeps the returned
    object for as long as the application lives."""
    global _sampler
    source = _EdgeSource(pages, hub)
    _sources.add(source)
    if MULTIPROC_DIR and _sampler is None:
        _sampler = threading.Thread(target=_sample_forever, name="ops-metrics-sampler", daemon=True)
        _sampler.start()
    return source


def sample_edges() -> None:
    """Copy the edge's counters into the metrics. Plain reads of ints and
    lengths: safe from any thread."""
    with _sample_lock:
        entries = size = streams = 0
        for source in list(_sources):
            pages = source.pages
            if pages is not None:
                hits, misses = pages.hits, pages.misses
                PAGE_CACHE_HITS.inc(max(0, hits - source.hits))
                PAGE_CACHE_MISSES.inc(max(0, misses - source.misses))
                source.hits, source.misses = hits, misses
                entries += len(pages.entries)
                size += pages.size
            streams += len(source.hub.streams)
        PAGE_CACHE_ENTRIES.set(entries)
        PAGE_CACHE_BYTES.set(size)
        STREAMS_OPEN.set(streams)


def _sample_forever() -> None:
    stop = threading.Event()
    while not stop.wait(EDGE_SAMPLE_SECONDS):
        sample_edges()


def forget_dead_processes(directory: str = MULTIPROC_DIR) -> None:
    """A web process restarted by uvicorn's supervisor leaves its file of
    current values (open streams...) behind: drop those of processes that are
    gone, so that they are not added to the living ones'. Counters stay: they
    only ever add up."""
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        pid = int(os.path.basename(path).rsplit("_", 1)[1].removesuffix(".db"))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, directory)
        except PermissionError:
            pass  # alive, another user's


if MULTIPROC_DIR:
    forget_dead_processes()


# The exposition -----------------------------------------------------------------


class _Local:
    """This process's registry, as one collector of the scrape's registry."""

    def collect(self):
        return LOCAL.collect()


@cache
def _registry() -> CollectorRegistry:
    from beffroi.ops.database import DatabaseCollector

    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROC_DIR:
        MultiProcessCollector(registry, MULTIPROC_DIR)
    else:
        registry.register(_Local())
    registry.register(DatabaseCollector())
    return registry


def exposition() -> bytes:
    """The text exposition; reads the database (call it from a thread)."""
    return generate_latest(_registry())
