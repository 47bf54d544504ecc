"""A local Web Push service that decrypts what it receives, for tests and benchmarks.

It issues subscriptions as a browser's push service does: an EC P-256 key pair
and a 16-byte auth secret each, endpoint ``http://127.0.0.1:<port>/push/<id>``.
It keeps their private halves, so for every push it can check what a real
browser would: the VAPID ``Authorization`` header (RFC 8292: format, claims
and signature), the encoding headers, and the body, decrypted with
``http_ece`` (RFC 8291, aes128gcm). A message that decrypts is recorded and
answered 201; a subscription can be told to answer something else (404 or
410: the subscription is gone, and the sender must forget it).

In a test, in a thread of the test process::

    with FakePushService() as service:
        subscription = service.subscribe()
        ...  # save subscription.as_json() as a browser would, publish a post
        assert service.received[0].plaintext == expected
        service.answer(subscription.id, 410)

In its own process (benchmarks)::

    python -m fakes.push_service --port 8765 --subscriptions 5000 --keys subs.json

writes the public half of the subscriptions to ``subs.json`` once it listens,
then serves until stopped. Its other routes:

- ``POST /subscriptions``: a new subscription (JSON, with its ``id``);
- ``POST /answers/<id>`` with a status code as body: that subscription's answer;
- ``GET /stats``: the counts, and how many plaintexts had each SHA-256;
- ``GET /received``: every delivery, plaintext in base64url.
"""

import argparse
import asyncio
import base64
import binascii
import hashlib
import json
import os
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import http_ece
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_TOKEN_LIFETIME = 24 * 3600  # RFC 8292, section 2
URGENCIES = {"very-low", "low", "normal", "high"}


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscription:
    id: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def p256dh(self) -> str:
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url_encode(raw)

    @property
    def auth(self) -> str:
        return b64url_encode(self.auth_secret)

    def as_json(self) -> dict:
        """What the browser hands to the site (``PushSubscription.toJSON()``)."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass(frozen=True)
class Delivery:
    subscription_id: str
    plaintext: bytes
    ttl: int
    urgency: str
    vapid_key: str  # the sender's VAPID public key (base64url), as the header gave it


@dataclass
class Counts:
    delivered: int = 0
    decrypt_failures: int = 0
    rejected: int = 0  # bad or missing VAPID header or encoding headers
    unknown: int = 0  # no such subscription
    answered_other: int = 0  # told to answer 404/410/...
    plaintext_sha256: Counter = field(default_factory=Counter)

    def as_json(self) -> dict:
        return {**self.__dict__, "plaintext_sha256": dict(self.plaintext_sha256)}


class Rejected(Exception):
    """A push the service refuses: 401 for VAPID (RFC 8292, section 4), 400 otherwise."""

    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.status = status


class VapidChecker:
    """RFC 8292: ``vapid t=<JWT ES256>, k=<public key>``; a valid header is checked once, then until it expires."""

    def __init__(self, audience: str):
        self.audience = audience
        self._valid: dict[str, tuple[int, str]] = {}  # header → (exp, k)

    def check(self, header: str | None) -> str:
        """The sender's public key, or Rejected."""
        if not header:
            raise Rejected("no Authorization header")
        cached = self._valid.get(header)
        if cached is None:
            cached = self._valid[header] = self._verify(header)
        expires, key = cached
        if expires <= time.time():
            raise Rejected("VAPID token expired")
        return key

    def _verify(self, header: str) -> tuple[int, str]:
        scheme, _, params = header.partition(" ")
        if scheme.lower() != "vapid":
            raise Rejected("Authorization scheme is not vapid")
        values = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        token, key = values.get("t", ""), values.get("k", "")
        try:
            head, claims, signature = (b64url_decode(p) for p in token.split("."))
            head, claims = json.loads(head), json.loads(claims)
            public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
        except (ValueError, binascii.Error) as exc:
            raise Rejected(f"unreadable VAPID header: {exc}") from exc
        if head.get("alg") != "ES256" or len(signature) != 64:
            raise Rejected("VAPID token is not ES256")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            public_key.verify(der, token.rsplit(".", 1)[0].encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise Rejected("bad VAPID signature") from exc
        if claims.get("aud") != self.audience:
            raise Rejected(f"VAPID audience {claims.get('aud')!r} is not {self.audience!r}")
        expires = claims.get("exp")
        if not isinstance(expires, int) or not time.time() < expires <= time.time() + MAX_TOKEN_LIFETIME:
            raise Rejected("VAPID expiry missing, past, or more than 24 hours ahead")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise Rejected("VAPID subject must be a mailto: or https: URL")
        return expires, key


class FakePushService:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port
        self.subscriptions: dict[str, Subscription] = {}
        self.answers: dict[str, int] = {}
        self.received: list[Delivery] = []
        self.counts = Counts()
        self.vapid: VapidChecker | None = None
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # Subscriptions and answers -------------------------------------------------

    def subscribe(self) -> Subscription:
        """A new subscription (call once the service listens: the endpoint holds the port)."""
        sub_id = secrets.token_urlsafe(12)
        subscription = Subscription(
            id=sub_id,
            endpoint=f"{self.base_url}/push/{sub_id}",
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth_secret=os.urandom(16),
        )
        self.subscriptions[sub_id] = subscription
        return subscription

    def answer(self, subscription_id: str, status: int) -> None:
        """Answer ``status`` (404, 410...) instead of delivering, from now on."""
        self.answers[subscription_id] = status

    # HTTP ----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/push/{id}", self._push)
        app.router.add_get("/stats", self._stats)
        app.router.add_get("/received", self._received)
        app.router.add_post("/subscriptions", self._subscribe)
        app.router.add_post("/answers/{id}", self._set_answer)
        return app

    async def _push(self, request: web.Request) -> web.Response:
        subscription = self.subscriptions.get(request.match_info["id"])
        if subscription is None:
            self.counts.unknown += 1
            return web.Response(status=404)
        body = await request.read()
        try:
            vapid_key = self.vapid.check(request.headers.get("Authorization"))
            if request.headers.get("Content-Encoding") != "aes128gcm":
                raise Rejected("Content-Encoding is not aes128gcm", 400)
            ttl = request.headers.get("TTL", "")
            if not ttl.isdigit():
                raise Rejected("TTL header missing or not a number", 400)
            urgency = request.headers.get("Urgency", "normal")
            if urgency not in URGENCIES:
                raise Rejected(f"unknown urgency {urgency!r}", 400)
        except Rejected as exc:
            self.counts.rejected += 1
            return web.Response(status=exc.status, text=str(exc))
        status = self.answers.get(subscription.id)
        if status is not None:
            self.counts.answered_other += 1
            return web.Response(status=status)
        try:
            plaintext = http_ece.decrypt(
                body, private_key=subscription.private_key, auth_secret=subscription.auth_secret, version="aes128gcm"
            )
        except http_ece.ECEException as exc:
            self.counts.decrypt_failures += 1
            return web.Response(status=400, text=f"cannot decrypt: {exc}")
        self.counts.delivered += 1
        self.counts.plaintext_sha256[hashlib.sha256(plaintext).hexdigest()] += 1
        self.received.append(Delivery(subscription.id, plaintext, int(ttl), urgency, vapid_key))
        return web.Response(status=201, headers={"Location": f"{self.base_url}/message/{len(self.received)}"})

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.counts.as_json())

    async def _received(self, request: web.Request) -> web.Response:
        deliveries = [{**d.__dict__, "plaintext": b64url_encode(d.plaintext)} for d in self.received]
        return web.json_response(deliveries)

    async def _subscribe(self, request: web.Request) -> web.Response:
        subscription = self.subscribe()
        return web.json_response({"id": subscription.id, **subscription.as_json()}, status=201)

    async def _set_answer(self, request: web.Request) -> web.Response:
        self.answer(request.match_info["id"], int(await request.text()))
        return web.Response(status=204)

    # Running -------------------------------------------------------------------

    async def start_async(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        self.vapid = VapidChecker(audience=self.base_url)

    async def stop_async(self) -> None:
        await self._runner.cleanup()

    def start(self) -> "FakePushService":
        """Serve from a thread of its own (for tests)."""
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        def run():
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self.start_async())
            started.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.stop_async())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-push-service", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the fake push service did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> "FakePushService":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


async def _serve(args) -> None:
    service = FakePushService(host=args.host, port=args.port)
    await service.start_async()
    subscriptions = [{"id": s.id, **s.as_json()} for s in (service.subscribe() for _ in range(args.subscriptions))]
    # Written once listening, and atomically: the file's presence means "ready".
    partial = Path(f"{args.keys}.partial")
    partial.write_text(json.dumps({"base_url": service.base_url, "subscriptions": subscriptions}))
    partial.rename(args.keys)
    await asyncio.Event().wait()  # until the process is stopped


def main() -> None:
    parser = argparse.ArgumentParser(description="Local Web Push service that decrypts every message.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (see the keys file)")
    parser.add_argument("--subscriptions", type=int, default=1, help="subscriptions to issue at start")
    parser.add_argument("--keys", required=True, help="where to write the issued subscriptions (JSON)")
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
