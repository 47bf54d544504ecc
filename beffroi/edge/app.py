"""The ASGI application: the thin path, then Django."""

import asyncio
import gc
import logging

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from beffroi.edge.pagecache import PageCache
from beffroi.edge.streams import ROUTES
from beffroi.edge.wsgi import WSGIBridge
from beffroi.ops.endpoints import PATHS as OPS_PATHS
from beffroi.ops.endpoints import OpsEndpoints
from beffroi.realtime.hub import Hub
from beffroi.realtime.sse import StreamsApp

logger = logging.getLogger(__name__)


def django_app():
    """Django as WSGI on a fixed pool of threads (see beffroi.edge.wsgi)."""
    return WSGIBridge(WSGIHandler(), threads=settings.WEB_THREADS, spool_dir=settings.FILE_UPLOAD_TEMP_DIR)


class EdgeApp:
    def __init__(self, *, django, hub: Hub, page_cache: bool = True, freeze_gc: bool = True):
        self.hub = hub
        self.freeze_gc = freeze_gc
        self.streams = StreamsApp(hub, ROUTES)
        self.django = django
        self.pages = None
        if page_cache:
            self.pages = PageCache(
                django,
                max_bytes=settings.PAGE_CACHE_MAX_BYTES,
                ttl=settings.PAGE_CACHE_TTL_SECONDS,
                session_cookie=settings.SESSION_COOKIE_NAME,
            )
            hub.listeners.append(self.pages.invalidate)
        self.ops = OpsEndpoints(hub=hub, pages=self.pages, django=django)

    async def __call__(self, scope, receive, send):
        kind = scope["type"]
        if kind == "http":
            if scope["path"].startswith("/flux/"):
                return await self.streams(scope, receive, send)
            if scope["path"] in OPS_PATHS:  # health check, metrics
                return await self.ops(scope, receive, send)
            if self.pages is not None:
                return await self.pages(scope, receive, send)
            return await self.django(scope, receive, send)
        if kind == "lifespan":
            return await self.lifespan(receive, send)
        # No WebSocket here: streams are Server-Sent Events.
        await send({"type": "websocket.close", "code": 1003})

    async def lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.hub.start()
                except Exception as exc:
                    logger.exception("Démarrage du hub temps réel impossible")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                # What exists at start-up lives as long as the process: keep it
                # out of the collector's full passes, which would otherwise
                # pause every stream while they scan it.
                if self.freeze_gc:
                    gc.collect()
                    gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.hub.stop()
                if hasattr(self.django, "close"):
                    await asyncio.to_thread(self.django.close)
                await send({"type": "lifespan.shutdown.complete"})
                return
