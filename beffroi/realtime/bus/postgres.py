"""PostgreSQL LISTEN/NOTIFY: one listening connection per web process."""

import asyncio
import logging

import psycopg
from django.db import connections

from beffroi.realtime.publish import NOTIFY_CHANNEL

logger = logging.getLogger(__name__)


def connection_params() -> dict:
    params = connections["default"].get_connection_params()
    # Django's own cursor and context settings do not apply to a bare connection.
    for key in ("cursor_factory", "context", "server_side_binding", "prepare_threshold"):
        params.pop(key, None)
    return params


async def listen(hub, *, retry_seconds: float = 1.0) -> None:
    """Poke the hub on every notification; reconnect forever on failure."""
    params = connection_params()
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(autocommit=True, **params) as conn:
                await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                # Events committed while we were not listening are read now.
                hub.poke()
                retry_seconds = 1.0
                async for _notify in conn.notifies():
                    hub.poke()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("Connexion LISTEN perdue, nouvelle tentative dans %.0f s", retry_seconds, exc_info=True)
            await asyncio.sleep(retry_seconds)
            retry_seconds = min(retry_seconds * 2, 30.0)
