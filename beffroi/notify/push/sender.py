"""Sending Web Push messages, many at once.

Each message is encrypted for its subscription by pywebpush (RFC 8291,
aes128gcm, through http_ece) and posted with the VAPID header of its push
service, over a pool of kept-alive connections, a bounded number at a time.

The request itself goes through ``push.http``, not pywebpush's aiohttp
``send_async``: with aiohttp, HTTP took a third of the sender's time
(``bench/webpush.py``).
"""

import asyncio
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

import uvloop
from django.conf import settings
from pywebpush import WebPusher

from beffroi.notify.push import vapid
from beffroi.notify.push.http import PushClient, PushHTTPError

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


def encrypted(message: Message) -> bytes:
    """The message body, encrypted for its subscription (pywebpush)."""
    pusher = WebPusher({"endpoint": message.endpoint, "keys": {"p256dh": message.p256dh, "auth": message.auth}})
    return pusher.encode(message.payload, content_encoding="aes128gcm")["body"]


def request_headers(message: Message) -> dict[str, str]:
    """RFC 8030 and 8292 headers of the request that carries the message."""
    return {
        "Authorization": vapid.authorization(message.endpoint),
        "Content-Type": "application/octet-stream",
        "Content-Encoding": "aes128gcm",
        "TTL": str(message.ttl),
        "Urgency": message.urgency,
    }


async def _send_one(client: PushClient, message: Message) -> Outcome:
    try:
        status = await client.post(message.endpoint, request_headers(message), encrypted(message))
    except PushHTTPError as exc:
        logger.info("Push non remis (%s) à %s", exc, message.endpoint[:60])
        return Outcome(message.endpoint, None)
    return Outcome(message.endpoint, status)


async def send_all(
    messages: Iterable[Message], *, concurrency: int | None = None, ssl_context: ssl.SSLContext | None = None
) -> list[Outcome]:
    concurrency = concurrency or settings.PUSH_CONCURRENCY
    pending = iter(messages)
    outcomes: list[Outcome] = []
    client = PushClient(ssl_context=ssl_context)

    async def worker():
        for message in pending:  # the iterator is shared: each message goes to one worker
            outcomes.append(await _send_one(client, message))

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        client.close()
    return outcomes


def send_batch(messages: Iterable[Message], *, concurrency: int | None = None) -> list[Outcome]:
    """Synchronous entry point, for the worker."""
    return uvloop.run(send_all(messages, concurrency=concurrency))
