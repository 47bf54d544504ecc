"""Sending Web Push messages, many at once.

Each message is encrypted for its subscription by pywebpush (RFC 8291,
aes128gcm, through http_ece) and posted with the VAPID header of its push
service, over kept-alive connections, a bounded number at a time, by the
project's one outgoing HTTP client (``notify/http.py``; why not pywebpush's
aiohttp ``send_async`` nor httpx: ``bench/webpush.py``).

A push is posted once. A push whose answer did not come (timeout, connection
lost after the request was written) may still have been delivered: its outcome
is unknown (``status`` None) and the caller's retry policy decides; the
notification's tag makes a browser show a second copy in place of the first.
"""

import asyncio
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import uvloop
from django.conf import settings
from django.core.exceptions import ValidationError
from pywebpush import WebPusher

from beffroi.notify.http import HttpClient, HttpError
from beffroi.notify.push import vapid
from beffroi.notify.push.validation import validate_endpoint

logger = logging.getLogger(__name__)

GONE_STATUSES = {404, 410}
# A push service answers with a status and a few headers; a body is an error
# message at most.
MAX_ANSWER_BYTES = 64 * 1024


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
    status: int | None  # None: no answer (network error, timeout), or not sent (refused)
    refused: bool = False  # not sent: the endpoint is not (or no longer) an allowed push service
    # Not sent: its key is not a point of the curve (the API checks its shape
    # only), so no message can ever be encrypted for it.
    unusable: bool = False

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """The subscription no longer exists, or can never be used: it must be deleted."""
        return self.unusable or self.status in GONE_STATUSES

    @property
    def retryable(self) -> bool:
        return not (self.refused or self.unusable) and (self.status is None or self.status == 429 or self.status >= 500)


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


def _service(endpoint: str) -> str:
    """What a log may say of an endpoint: its host (the rest is the subscription's secret address)."""
    try:
        return urlsplit(endpoint).hostname or "?"
    except ValueError:
        return "?"


async def _send_one(client: HttpClient, message: Message) -> Outcome:
    # Checked when it was stored, and again now: PUSH_ALLOWED_HOSTS may have
    # changed since, and the database is not where this rule is enforced.
    try:
        validate_endpoint(message.endpoint)
    except ValidationError:
        logger.warning("Push non envoyé : service non autorisé (%s)", _service(message.endpoint))
        return Outcome(message.endpoint, None, refused=True)
    try:
        body = encrypted(message)
    except ValueError:  # not a point of the P-256 curve
        logger.info("Push non envoyé : clé d’abonnement inutilisable (%s)", _service(message.endpoint))
        return Outcome(message.endpoint, None, unusable=True)
    try:
        response = await client.request("POST", message.endpoint, request_headers(message), body)
    except HttpError as exc:
        logger.info("Push non remis (%s) à %s", exc, _service(message.endpoint))
        return Outcome(message.endpoint, None)
    return Outcome(message.endpoint, response.status)


async def send_all(
    messages: Iterable[Message], *, concurrency: int | None = None, ssl_context: ssl.SSLContext | None = None
) -> list[Outcome]:
    concurrency = concurrency or settings.PUSH_CONCURRENCY
    pending = iter(messages)
    outcomes: list[Outcome] = []
    client = HttpClient(
        timeout=settings.PUSH_TIMEOUT_SECONDS,
        max_body=MAX_ANSWER_BYTES,
        proxy=settings.OUTBOUND_PROXY,
        ssl_context=ssl_context,
    )

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
