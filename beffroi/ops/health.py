"""The health check a load balancer and the monitoring ask each web process.

Five checks, each bounded in time, run by the process that answers:

- database: a trivial query, on a new connection (that one can be opened is part
  of the check);
- worker: the age of the most recent worker heartbeat, against
  WORKER_HEARTBEAT_TIMEOUT (past it, the workers' jobs are given away);
- hub: this process's event hub is running and has read the event log up to
  its last id (woken up once, then given a moment to catch up);
- storage: a small file written, read back and deleted in the private
  storage; a passed probe is reused for STORAGE_PROBE_SECONDS (on an object
  store each probe is three paid requests);
- django: a request sent through the WSGI bridge is answered by a thread of
  Django's pool (all of them stuck, or busy for longer, fails it).

The result is shared by the requests that arrive while it is computed, and
reused for CACHE_SECONDS: a flood of requests costs at most one run a second.
A check whose previous run is still stuck (a hung connection) fails at once
instead of queueing another behind it.
"""

import asyncio
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connections
from django.db.models import Max
from django.utils import timezone

from beffroi.ops.probe import PROBE_PATH

CHECKS = ("database", "worker", "hub", "storage", "django")
CHECK_SECONDS = 2.0
CACHE_SECONDS = 1.0
STORAGE_PROBE_SECONDS = 30.0
PROBE_DIRECTORY = "_sante"
PROBE_SCOPE = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
    "path": PROBE_PATH, "raw_path": PROBE_PATH.encode(), "root_path": "", "query_string": b"",
    "headers": [(b"host", b"localhost")], "client": None, "server": None,
}


@dataclass
class Result:
    ok: bool
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"ok": self.ok, **self.details}


def _failure(message: str, **details) -> Result:
    return Result(False, {"error": message, **details})


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


# In the checks' threads ------------------------------------------------------------


def read_database() -> dict:
    """One trivial query, then the two facts the other checks need. On a new
    connection each time, closed after: that new connections can be opened
    (PostgreSQL's max_connections) is part of what is checked."""
    from beffroi.core.models import WorkerHeartbeat
    from beffroi.realtime.models import Event

    connection = connections["default"]
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        elapsed = _elapsed_ms(started)
        return {
            "ms": elapsed,
            "heartbeat": WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"],
            "head": Event.objects.aggregate(last=Max("id"))["last"] or 0,
        }
    finally:
        connection.close()


def probe_storage() -> float:
    """Write, read back and delete a few random bytes; milliseconds taken."""
    storage = storages["private"]
    content = secrets.token_bytes(16)
    started = time.perf_counter()
    name = storage.save(f"{PROBE_DIRECTORY}/{secrets.token_hex(8)}", ContentFile(content))
    try:
        with storage.open(name, "rb") as stored:
            if stored.read() != content:
                raise OSError("relu différent de l’écrit")
    finally:
        storage.delete(name)
    return _elapsed_ms(started)


# On the event loop -----------------------------------------------------------------


class _Runner:
    """One thread for one kind of check; a run still stuck is not queued behind."""

    def __init__(self, name: str):
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ops-{name}")
        self.pending = None

    async def run(self, function, *args, timeout: float):
        if self.pending is not None and not self.pending.done():
            raise TimeoutError
        self.pending = asyncio.get_running_loop().run_in_executor(self.pool, function, *args)
        # A late run's error is read here, not reported again when forgotten.
        self.pending.add_done_callback(lambda done: done.cancelled() or done.exception())
        return await asyncio.wait_for(asyncio.shield(self.pending), timeout)


class Health:
    def __init__(self, *, hub, django, cache_seconds: float = CACHE_SECONDS):
        self.hub = hub
        self.django = django
        self.cache_seconds = cache_seconds
        self._db = _Runner("health-db")
        self._files = _Runner("health-storage")
        self._last: tuple[float, dict[str, Result]] | None = None
        self._running: asyncio.Future | None = None
        self._storage_passed_at = -STORAGE_PROBE_SECONDS
        self._storage_result = Result(True)

    async def answer(self, *, leave_out: frozenset[str] = frozenset()) -> tuple[int, bytes]:
        """(HTTP status, JSON body): 200 when every check passed but those left
        out (still shown), 503 otherwise."""
        checks = await self.checks()
        failed = [name for name, result in checks.items() if not result.ok and name not in leave_out]
        body = {"status": "fail" if failed else "ok", "failed": failed}
        body["checks"] = {name: result.as_dict() for name, result in checks.items()}
        return 503 if failed else 200, json.dumps(body, ensure_ascii=False).encode()

    async def checks(self) -> dict[str, Result]:
        last = self._last
        if last is not None and time.monotonic() - last[0] < self.cache_seconds:
            return last[1]
        if self._running is None:
            self._running = asyncio.ensure_future(self._run())
            self._running.add_done_callback(self._finished)
        # Shielded: a client that goes away must not cancel the others' answer.
        return await asyncio.shield(self._running)

    def _finished(self, _future) -> None:
        self._running = None

    async def _run(self) -> dict[str, Result]:
        (database, read), storage, django = await asyncio.gather(
            self._check_database(), self._check_storage(), self._check_django()
        )
        checks = {
            "database": database,
            "worker": self._check_worker(read),
            "hub": await self._check_hub(read),
            "storage": storage,
            "django": django,
        }
        self._last = (time.monotonic(), checks)
        return checks

    async def _check_database(self) -> tuple[Result, dict | None]:
        try:
            read = await self._db.run(read_database, timeout=CHECK_SECONDS)
        except TimeoutError:
            return _failure(f"pas de réponse en {CHECK_SECONDS:g} s"), None
        except Exception as exc:
            return _failure("base de données injoignable", exception=type(exc).__name__), None
        return Result(True, {"ms": read["ms"]}), read

    def _check_worker(self, read: dict | None) -> Result:
        if read is None:
            return _failure("non vérifié : base de données injoignable")
        if read["heartbeat"] is None:
            return _failure("aucun worker n’a jamais donné signe de vie")
        age = max(0.0, round((timezone.now() - read["heartbeat"]).total_seconds(), 1))
        if age > settings.WORKER_HEARTBEAT_TIMEOUT:
            return _failure(f"dernier signe de vie d’un worker il y a {age:g} s", age_s=age)
        return Result(True, {"age_s": age})

    async def _check_hub(self, read: dict | None) -> Result:
        hub = self.hub
        if not hub.ready.is_set():
            return _failure("hub temps réel non démarré")
        if read is None:
            return Result(True, {"lag": None})
        head = read["head"]
        if hub.last_id < head:
            # The event may have been written a moment ago: wake the hub
            # (a lost wake-up is what this would reveal) and let it read.
            hub.poke()
            deadline = time.monotonic() + CHECK_SECONDS
            while hub.last_id < head and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        lag = max(0, head - hub.last_id)
        if lag:
            return _failure(f"en retard de {lag} événement(s) sur le journal", lag=lag)
        return Result(True, {"lag": 0})

    async def _check_storage(self) -> Result:
        if time.monotonic() - self._storage_passed_at < STORAGE_PROBE_SECONDS:
            return self._storage_result
        try:
            ms = await self._files.run(probe_storage, timeout=CHECK_SECONDS)
        except TimeoutError:
            return _failure(f"pas de réponse en {CHECK_SECONDS:g} s")
        except Exception as exc:
            return _failure("écriture ou lecture impossible", exception=type(exc).__name__)
        self._storage_passed_at = time.monotonic()
        self._storage_result = Result(True, {"ms": ms})
        return self._storage_result

    async def _check_django(self) -> Result:
        """The probe through the WSGI bridge (``beffroi.ops.probe``). Cancelled
        when late, so it leaves the pool's queue: probes never pile up there."""
        answered = {}
        started = time.perf_counter()

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]

        try:
            await asyncio.wait_for(self.django(dict(PROBE_SCOPE), receive, send), CHECK_SECONDS)
        except TimeoutError:
            return _failure(f"aucun fil de Django libre en {CHECK_SECONDS:g} s")
        except Exception as exc:
            return _failure("Django n’a pas répondu", exception=type(exc).__name__)
        if answered.get("status") != 200:
            return _failure(f"réponse {answered.get('status')} au lieu de 200")
        return Result(True, {"ms": _elapsed_ms(started)})
