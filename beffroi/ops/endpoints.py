"""/_sante and /_metriques, answered by the edge before the page cache and Django.

On the event loop, beside Django: when Django's thread pool is wedged, the
health check still answers, and says so (its "django" check); neither path
needs a commune for the host name, a session or a page from the cache.
"""

import asyncio
import hmac
import logging
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs

from django.conf import settings
from django.db import connections

from beffroi.ops import metrics
from beffroi.ops.health import CHECKS, Health

logger = logging.getLogger(__name__)

HEALTH_PATH = "/_sante"
METRICS_PATH = "/_metriques"
PATHS = frozenset({HEALTH_PATH, METRICS_PATH})
SCRAPE_SECONDS = 10.0
NO_STORE = [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]


async def _respond(send, status: int, body: bytes, content_type: bytes, *, head: bool = False, extra=()) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *NO_STORE, *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _text(send, status: int, message: str, **kwargs) -> None:
    await _respond(send, status, message.encode(), b"text/plain; charset=utf-8", **kwargs)


def _scrape() -> bytes:
    # A connection of its own for each scrape, closed after it: nothing stays
    # open between scrapes, and none outlives the process's database.
    try:
        return metrics.exposition()
    finally:
        connections.close_all()


class OpsEndpoints:
    def __init__(self, *, hub, pages, django):
        self.health = Health(hub=hub, django=django)
        self._edge = metrics.watch_edge(pages=pages, hub=hub)
        self._scrapes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ops-metrics")
        self._scraping = None

    async def __call__(self, scope, receive, send) -> None:
        head = scope["method"] == "HEAD"
        if scope["method"] not in ("GET", "HEAD"):
            return await _text(send, 405, "Méthode non autorisée : GET ou HEAD.", extra=[(b"allow", b"GET, HEAD")])
        if scope["path"] == HEALTH_PATH:
            return await self.health_check(scope, send, head=head)
        await self.metrics(scope, send, head=head)

    async def health_check(self, scope, send, *, head: bool) -> None:
        # "?sauf=worker": the status leaves the worker out (still shown). For a
        # load balancer: the workers are shared, and pages are served without
        # them; a stale worker must not take every web machine out at once.
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("sauf", [])
        leave_out = frozenset(name for value in values for name in value.split(",") if name)
        unknown = sorted(leave_out - set(CHECKS))
        if unknown:
            names = ", ".join(CHECKS)
            return await _text(send, 400, f"Vérification inconnue : {unknown[0][:40]} (connues : {names}).", head=head)
        try:
            status, body = await self.health.answer(leave_out=leave_out)
        except Exception:
            logger.exception("Vérification de santé impossible")
            status, body = 503, b'{"status": "fail", "failed": ["health"], "checks": {}}'
        await _respond(send, status, body, b"application/json", head=head)

    async def metrics(self, scope, send, *, head: bool) -> None:
        token = settings.METRICS_TOKEN
        if not token:
            return await _text(send, 404, "Page introuvable.", head=head)
        given = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        if given is None:
            return await _text(
                send, 401, "Jeton requis : Authorization: Bearer <METRICS_TOKEN>.", head=head,
                extra=[(b"www-authenticate", b'Bearer realm="metriques"')],
            )
        scheme, _, credential = given.partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(credential.strip(), token.encode()):
            return await _text(send, 403, "Jeton refusé.", head=head)
        if self._scraping is not None and not self._scraping.done():
            return await _text(send, 503, "Lecture précédente des métriques toujours en cours.", head=head)
        metrics.sample_edges()
        loop = asyncio.get_running_loop()
        self._scraping = loop.run_in_executor(self._scrapes, _scrape)
        self._scraping.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            body = await asyncio.wait_for(asyncio.shield(self._scraping), SCRAPE_SECONDS)
        except TimeoutError:
            return await _text(send, 503, f"Métriques non lues en {SCRAPE_SECONDS:g} s.", head=head)
        except Exception:
            logger.exception("Lecture des métriques impossible")
            return await _text(send, 503, "Métriques illisibles (base de données ?).", head=head)
        await _respond(send, 200, body, metrics.CONTENT_TYPE.encode(), head=head)
