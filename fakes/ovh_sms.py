"""A local OVHcloud SMS API, for tests and benchmarks.

It answers what the ``ovh`` backend calls, as OVH documents it, and checks
what OVH would: the application key, the consumer key, the timestamp (within
``time_window`` seconds of its clock) and the signature, "$1$" + SHA-1 of
secret, consumer key, method, full URL, body and timestamp joined by "+"
(computed here independently of the backend's code).

- ``POST /1.0/sms/{serviceName}/jobs``: records one message per valid
  receiver, with its tag; answers ``{"ids", "validReceivers",
  "invalidReceivers", "totalCreditsRemoved"}``;
- ``GET /1.0/sms/{serviceName}/outgoing?tag=…``: the ids recorded with that tag;
- ``GET /1.0/auth/time``: its clock.

It can be told to misbehave on the next sends (POST …/jobs only): answer
500/503, recording the message or not (``fail_next``); or hold the answer for
a while, recording the message or not (``stall_next``; ``release`` answers the
held requests at once).

In a test, from a thread of the test process::

    with FakeOvh() as ovh:
        ...  # SMS_OVH_ENDPOINT = ovh.base_url, credentials from ovh.credentials()
        assert ovh.ids_for("rem-12") == [1000001]

In its own process (benchmarks)::

    python -m fakes.ovh_sms --port 8766

prints its base URL once it listens. Its control routes, not signed:
``GET /_fake/stats`` (counts: requests, accepted, tags, duplicate_tags…),
``GET /_fake/tags/<tag>``, ``GET /_fake/messages``, ``POST /_fake/fail`` and
``POST /_fake/stall`` (JSON: count, status or seconds, record),
``--latency`` (seconds before answering every send, like a distant API),
``POST /_fake/invalid`` (JSON: receivers that OVH refuses), ``POST /_fake/reset``.
One request at a time per connection (no pipelining), like OVH's clients.
"""

import argparse
import asyncio
import hashlib
import json
import math
import re
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

import httptools

RECEIVER = re.compile(r"\+\d{8,15}")
PRIORITIES = {"high", "medium", "low", "veryLow"}
GSM_CHARS = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def segments(text: str) -> int:
    """SMS parts billed for ``text``: GSM 7-bit 160/153, else UCS-2 70/67."""
    single, part = (160, 153) if set(text) <= GSM_CHARS else (70, 67)
    return 1 if len(text) <= single else math.ceil(len(text) / part)


@dataclass
class Accepted:
    id: int
    tag: str
    receiver: str
    message: str
    sender: str | None
    no_stop_clause: bool
    priority: str
    at: float


@dataclass
class Fault:
    kind: str  # "fail" or "stall"
    record: bool
    status: int = 503
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    delay: float = 0.0  # held this long first (or until released)


@dataclass
class _Held:
    """A stalled request: its answer goes out when the timer fires or on release."""

    protocol: "_Protocol"
    answer: Answer
    keep_alive: bool
    timer: asyncio.TimerHandle | None = None
    done: bool = False


class Reply(Exception):
    def __init__(self, status: int, payload):
        self.status = status
        self.payload = payload


class FakeOvh:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        application_key: str = "fake-application-key",
        application_secret: str = "fake-application-secret",  # noqa: S107 (a fake's published key)
        consumer_key: str = "fake-consumer-key",
        service_name: str = "sms-fake-1",
        time_window: int = 180,
        latency: float = 0.0,
    ):
        self.host = host
        self.port = port
        self.application_key = application_key
        self.application_secret = application_secret
        self.consumer_key = consumer_key
        self.service_name = service_name
        self.time_window = time_window
        self.latency = latency  # seconds before answering a send, like a distant API
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._held: list[_Held] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/1.0"

    def credentials(self) -> dict[str, str]:
        """The settings that point the ``ovh`` backend here."""
        return {
            "SMS_OVH_ENDPOINT": self.base_url,
            "SMS_OVH_APPLICATION_KEY": self.application_key,
            "SMS_OVH_APPLICATION_SECRET": self.application_secret,
            "SMS_OVH_CONSUMER_KEY": self.consumer_key,
            "SMS_OVH_SERVICE_NAME": self.service_name,
        }

    # State and controls (callable from any thread) -------------------------

    def reset(self) -> None:
        with self._lock:
            self.accepted: list[Accepted] = []
            self.by_tag: dict[str, list[int]] = {}
            self.counts: Counter = Counter()
            self.invalid_receivers: set[str] = set()
            self._faults.clear()
            self._next_id = 1_000_000

    def fail_next(self, count: int = 1, *, status: int = 503, record: bool = False) -> None:
        """The next ``count`` sends get ``status``; ``record``: the message is kept all the same."""
        with self._lock:
            self._faults.extend(Fault("fail", record, status=status) for _ in range(count))

    def stall_next(self, count: int = 1, *, seconds: float = 30.0, record: bool = True) -> None:
        assert seconds > 0
        """The next ``count`` sends are answered only after ``seconds`` (or ``release``):
        200 if ``record`` (the message is kept on arrival), else 503."""
        with self._lock:
            self._faults.extend(Fault("stall", record, seconds=seconds) for _ in range(count))

    def release(self) -> None:
        """Answer the held requests now."""
        self._loop.call_soon_threadsafe(self._release_all)

    def refuse_receivers(self, *receivers: str) -> None:
        with self._lock:
            self.invalid_receivers.update(receivers)

    def ids_for(self, tag: str) -> list[int]:
        with self._lock:
            return list(self.by_tag.get(tag, []))

    def stats(self) -> dict:
        with self._lock:
            duplicates = {tag: len(ids) for tag, ids in self.by_tag.items() if len(ids) > 1}
            return {
                **{k: self.counts[k] for k in ("requests", "rejected", "bad_requests", "injected", "stalled", "lookups")},
                "accepted": len(self.accepted),
                "tags": len(self.by_tag),
                "duplicate_tags": len(duplicates),
                "duplicates": dict(list(duplicates.items())[:100]),
            }

    # The API ---------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(target)
        path = unquote(parts.path)
        try:
            if path.startswith("/_fake/"):
                return self._control(method, path, body)
            with self._lock:
                self.counts["requests"] += 1
            if path == "/1.0/auth/time" and method == "GET":
                return _json(200, int(time.time()))
            match = re.fullmatch(r"/1\.0/sms/([^/]+)/(jobs|outgoing)", path)
            if match is None or (method, match[2]) not in {("POST", "jobs"), ("GET", "outgoing")}:
                raise Reply(404, {"message": f"Got an invalid (or empty) URL: {path}"})
            self._authenticate(method, f"http://{headers.get('host', '')}{target}", headers, body)
            if match[1] != self.service_name:
                raise Reply(404, {"message": f"The requested object (serviceName = {match[1]}) does not exist"})
            if method == "GET":
                return self._outgoing(parse_qs(parts.query))
            return self._jobs(body)
        except Reply as reply:
            return _json(reply.status, reply.payload)

    def _authenticate(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        def refuse(status: int, code: str, message: str):
            with self._lock:
                self.counts["rejected"] += 1
            raise Reply(status, {"errorCode": code, "httpCode": f"{status} {HTTPStatus(status).phrase}", "message": message})

        if headers.get("x-ovh-application") != self.application_key:
            refuse(403, "INVALID_KEY", "This application key is invalid")
        if headers.get("x-ovh-consumer") != self.consumer_key:
            refuse(403, "INVALID_CREDENTIAL", "This credential does not exist")
        timestamp = headers.get("x-ovh-timestamp", "")
        if not timestamp.isdigit() or abs(int(timestamp) - time.time()) > self.time_window:
            refuse(400, "QUERY_TIME_OUT", "Query out of time")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            refuse(400, "INVALID_SIGNATURE", "Invalid signature")
        joined = "+".join([self.application_secret, self.consumer_key, method, url, text, timestamp])
        expected = "$1$" + hashlib.sha1(joined.encode("utf-8")).hexdigest()  # noqa: S324 (OVH's scheme)
        if headers.get("x-ovh-signature") != expected:
            refuse(400, "INVALID_SIGNATURE", "Invalid signature")

    def _outgoing(self, query: dict[str, list[str]]) -> Answer:
        with self._lock:
            self.counts["lookups"] += 1
            if "tag" in query:
                ids = list(self.by_tag.get(query["tag"][0], []))
            else:
                ids = [m.id for m in self.accepted]
        return _json(200, ids)

    def _jobs(self, body: bytes) -> Answer:
        request = self._read_job(body)
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
            answer = self._record(request) if fault is None or fault.record else None
        if fault is None:
            return Answer(answer.status, answer.body, delay=self.latency)
        with self._lock:
            self.counts["injected" if fault.kind == "fail" else "stalled"] += 1
        if fault.kind == "fail":
            return _json(fault.status, {"message": "Internal server error"})
        if answer is None:
            answer = _json(503, {"message": "Service unavailable"})
        return Answer(answer.status, answer.body, delay=fault.seconds)

    def _read_job(self, body: bytes) -> dict:
        def bad(message: str):
            with self._lock:
                self.counts["bad_requests"] += 1
            raise Reply(400, {"message": message})

        try:
            request = json.loads(body)
        except ValueError:
            bad("Invalid JSON body")
        if not isinstance(request, dict):
            bad("Invalid body")
        if not isinstance(request.get("message"), str) or not request["message"]:
            bad("Missing parameter message")
        receivers = request.get("receivers")
        if not isinstance(receivers, list) or not receivers or not all(isinstance(r, str) for r in receivers):
            bad("Missing parameter receivers")
        tag = request.get("tag", "")
        if not isinstance(tag, str) or len(tag) > 20:
            bad("Invalid tag: 20 characters at most")
        if request.get("priority", "high") not in PRIORITIES:
            bad("Invalid priority")
        if not isinstance(request.get("noStopClause", False), bool):
            bad("Invalid noStopClause")
        if not isinstance(request.get("sender", ""), str):
            bad("Invalid sender")
        return request

    def _record(self, request: dict) -> Answer:
        """Keep one message per valid receiver (the lock is held)."""
        valid, invalid, ids = [], [], []
        tag = request.get("tag", "")
        for receiver in request["receivers"]:
            if not RECEIVER.fullmatch(receiver) or receiver in self.invalid_receivers:
                invalid.append(receiver)
                continue
            self._next_id += 1
            self.accepted.append(
                Accepted(
                    id=self._next_id,
                    tag=tag,
                    receiver=receiver,
                    message=request["message"],
                    sender=request.get("sender"),
                    no_stop_clause=request.get("noStopClause", False),
                    priority=request.get("priority", "high"),
                    at=time.time(),
                )
            )
            self.by_tag.setdefault(tag, []).append(self._next_id)
            valid.append(receiver)
            ids.append(self._next_id)
        credits = segments(request["message"]) * len(valid)
        answer = {"ids": ids, "validReceivers": valid, "invalidReceivers": invalid, "totalCreditsRemoved": credits}
        return _json(200, answer)

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        try:
            options = json.loads(body) if body else {}
        except ValueError:
            return _json(400, {"message": "Invalid JSON body"})
        if (method, path) == ("GET", "/_fake/stats"):
            return _json(200, self.stats())
        if (method, path) == ("GET", "/_fake/messages"):
            with self._lock:
                return _json(200, [asdict(m) for m in self.accepted])
        if method == "GET" and path.startswith("/_fake/tags/"):
            return _json(200, self.ids_for(path.removeprefix("/_fake/tags/")))
        if (method, path) == ("POST", "/_fake/fail"):
            self.fail_next(options.get("count", 1), status=options.get("status", 503), record=options.get("record", False))
        elif (method, path) == ("POST", "/_fake/stall"):
            self.stall_next(options.get("count", 1), seconds=options.get("seconds", 30), record=options.get("record", True))
        elif (method, path) == ("POST", "/_fake/invalid"):
            self.refuse_receivers(*options.get("receivers", []))
        elif (method, path) == ("POST", "/_fake/reset"):
            self.reset()
        else:
            return _json(404, {"message": "unknown control route"})
        return _json(200, {"ok": True})

    # Held answers (on the server's loop) -----------------------------------

    def _hold(self, protocol: "_Protocol", answer: Answer, keep_alive: bool) -> None:
        held = _Held(protocol, answer, keep_alive)
        held.timer = self._loop.call_later(answer.delay, self._answer_held, held)
        self._held.append(held)

    def _answer_held(self, held: _Held) -> None:
        if not held.done:
            held.done = True
            held.protocol.respond(held.answer.status, held.answer.body, held.keep_alive)
        if held in self._held:
            self._held.remove(held)

    def _release_all(self) -> None:
        for held in list(self._held):
            held.timer.cancel()
            self._answer_held(held)

    # Running ---------------------------------------------------------------

    async def start_async(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(lambda: _Protocol(self), self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop_async(self) -> None:
        self._server.close()
        await self._server.wait_closed()

    def start(self) -> "FakeOvh":
        """Serve from a thread of its own (for tests)."""
        started = threading.Event()
        failure: list[BaseException] = []

        def run():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            for held in self._held:
                held.timer.cancel()
            self._server.close()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-ovh", daemon=True)
        self._thread.start()
        if not started.wait(10) or failure:
            raise RuntimeError(f"the fake OVH API did not start: {failure}")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> "FakeOvh":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _json(status: int, payload) -> Answer:
    return Answer(status, json.dumps(payload).encode())


class _Protocol(asyncio.Protocol):
    def __init__(self, fake: FakeOvh):
        self.fake = fake
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self._reset()

    def _reset(self) -> None:
        self.url = b""
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.respond(400, b'{"message": "bad request"}', keep_alive=False)

    def on_message_begin(self) -> None:
        self._reset()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        keep_alive = self.parser.should_keep_alive()
        method = self.parser.get_method().decode()
        answer = self.fake.handle(method, self.url.decode("latin-1"), self.headers, b"".join(self.body))
        if answer.delay:
            self.fake._hold(self, answer, keep_alive)
        else:
            self.respond(answer.status, answer.body, keep_alive)

    def respond(self, status: int, body: bytes, keep_alive: bool = True) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            f"Content-Type: application/json; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            + ("" if keep_alive else "Connection: close\r\n")
            + "\r\n"
        )
        self.transport.write(head.encode("latin-1") + body)
        if not keep_alive:
            self.transport.close()


async def _serve(args) -> None:
    fake = FakeOvh(
        host=args.host,
        port=args.port,
        application_key=args.application_key,
        application_secret=args.application_secret,
        consumer_key=args.consumer_key,
        service_name=args.service_name,
        latency=args.latency,
    )
    await fake.start_async()
    print(f"Fake OVH SMS API listening on {fake.base_url}", flush=True)
    await asyncio.Event().wait()  # until the process is stopped


def main() -> None:
    parser = argparse.ArgumentParser(description="Local OVHcloud SMS API that checks signatures and counts messages.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed at start)")
    parser.add_argument("--application-key", default="fake-application-key")
    parser.add_argument("--application-secret", default="fake-application-secret")
    parser.add_argument("--consumer-key", default="fake-consumer-key")
    parser.add_argument("--service-name", default="sms-fake-1")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before answering each send")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(_serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
