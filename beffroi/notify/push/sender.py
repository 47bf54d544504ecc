"""Sending Web Push messages, many at once.

Each message is encrypted for its subscription (RFC 8291, aes128gcm, through
pywebpush and http_ece) and posted with the VAPID header of its push service,
over a pool of kept-alive connections, a bounded number at a time.
"""

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
from django.conf import settings
from pywebpush import WebPusher

from beffroi.notify.push import vapid

logger = logging.getLogger(__name__)

GONE_STATUSES = {404, 410}


@dataclass(frozen=True, slots=True)
class Message:
    endpoint: str
    p256dh: str
    auth: str
    payload: bytes
    ttl: int = 3600
    urgency: str = "normal"  # very-low, low, normal, high


@dataclass(frozen=True, slots=True)
class Outcome:
    endpoint: str
    status: int | None  # None: no answer (network error, timeout)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """The subscription no longer exists: it must be deleted."""
        return self.status in GONE_STATUSES

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500


async def _send_one(session: aiohttp.ClientSession, message: Message) -> Outcome:
    pusher = WebPusher(
        {"endpoint": message.endpoint, "keys": {"p256dh": message.p256dh, "auth": message.auth}},
        aiohttp_session=session,
    )
    headers = {"Authorization": vapid.authorization(message.endpoint), "Urgency": message.urgency}
    try:
        response = await pusher.send_async(
            data=message.payload,
            headers=headers,
            ttl=message.ttl,
            content_encoding="aes128gcm",
            timeout=aiohttp.ClientTimeout(total=15),
        )
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        logger.info("Push non remis (%s) à %s", type(exc).__name__, message.endpoint[:60])
        return Outcome(message.endpoint, None)
    return Outcome(message.endpoint, response.status)


async def send_all(messages: Iterable[Message], *, concurrency: int | None = None) -> list[Outcome]:
    concurrency = concurrency or settings.PUSH_CONCURRENCY
    pending = iter(messages)
    outcomes: list[Outcome] = []
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency, ttl_dns_cache=300)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker():
            for message in pending:  # the iterator is shared: each message goes to one worker
                outcomes.append(await _send_one(session, message))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes


def send_batch(messages: Iterable[Message], *, concurrency: int | None = None) -> list[Outcome]:
    """Synchronous entry point, for the worker."""
    return asyncio.run(send_all(messages, concurrency=concurrency))
