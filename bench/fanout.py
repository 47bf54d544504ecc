"""Benchmark (a): one alert fanned out to N Server-Sent Events clients.

One uvicorn process serves N streams of /flux/public over loopback; clients in
separate processes (non-blocking sockets on epoll, no asyncio, so that the
client side is never the bottleneck) wait for the alert. The benchmark then
publishes one alert and prints the delay until each client had the whole
frame (p50, p99, max), and the server's memory per open stream.

    .venv/bin/python bench/fanout.py                 # 2,000 clients, SQLite
    .venv/bin/python bench/fanout.py --many          # 10,000 clients (the target)
    .venv/bin/python bench/fanout.py --many --postgres
    .venv/bin/python bench/fanout.py --many --via-http

Where the publication happens matters:

- default: the benchmark process publishes through the services
  (post_create, post_transition), like the worker or another web process
  would. On PostgreSQL, NOTIFY wakes the server at commit; on SQLite the
  server only finds the event at its next poll (REALTIME_POLL_SECONDS,
  0.25 s), which adds 0 to 250 ms to every delay. The clock starts just after
  the commit.
- --via-http: an editor publishes through the back office of the server
  itself (real login with password and TOTP), so the server's own commit
  wakes its hub. The clock starts just before the request is sent, so the
  delays also include the request's handling by Django: an upper bound.
"""

import argparse
import http.cookiejar
import math
import multiprocessing
import re
import select
import socket
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

from common import Installation, OtherLoad, free_port, print_machine, raise_open_files_limit, rss_kib, table, verdict

TARGET_CLIENTS = 10_000
TARGET_P99 = 0.5
TARGET_MAX = 1.0
TARGET_KIB_PER_STREAM = 20
EDITOR_EMAIL = "admin@haisnes.demo"

HANDSHAKE_END = b"retry: 2000\n\n"
ALERT_MARK = b"event: post.published\n"
CONNECT_TIMEOUT = 120.0
RECEIPT_TIMEOUT = 30.0


# The clients (child processes) ---------------------------------------------------


def request_bytes(port: int) -> bytes:
    return f"GET /flux/public HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode()


def open_streams(epoll, port: int, count: int, in_flight: int) -> tuple[dict, int]:
    """Open ``count`` streams, at most ``in_flight`` handshakes at a time (the listen backlog is finite).

    A stream counts as open once the server sent ``retry:``, which it does
    after subscribing the stream to the hub.
    """
    request = request_bytes(port)
    sockets: dict[int, socket.socket] = {}
    handshaking: dict[int, bytearray] = {}
    opened: dict[int, socket.socket] = {}
    failed = 0
    to_open = count
    deadline = time.monotonic() + CONNECT_TIMEOUT

    def fail(fd):
        nonlocal failed
        failed += 1
        epoll.unregister(fd)
        handshaking.pop(fd, None)
        sockets.pop(fd).close()

    while len(opened) + failed < count and time.monotonic() < deadline:
        while to_open and len(sockets) - len(opened) < in_flight:
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            sockets[sock.fileno()] = sock
            epoll.register(sock.fileno(), select.EPOLLOUT)
            to_open -= 1
        for fd, _events in epoll.poll(0.5):
            sock = sockets[fd]
            if fd not in handshaking:  # connected (or refused)
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    fail(fd)
                    continue
                sock.send(request)
                handshaking[fd] = bytearray()
                epoll.modify(fd, select.EPOLLIN)
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                fail(fd)
                continue
            buffer = handshaking[fd]
            buffer += data
            if HANDSHAKE_END in buffer:
                if buffer.startswith(b"HTTP/1.1 200"):
                    del handshaking[fd]
                    opened[fd] = sock
                else:
                    fail(fd)
    for fd in set(sockets) - set(opened):  # still connecting at the deadline
        failed += 1
        epoll.unregister(fd)
        sockets[fd].close()
    return opened, failed


def time_alert(epoll, streams: dict, control) -> tuple[list[float], int]:
    """Wait for the alert frame on every stream; the monotonic time each one got it whole."""
    buffers = {fd: bytearray() for fd in streams}
    received: list[float] = []
    lost = 0
    waiting = len(streams)
    epoll.register(control.fileno(), select.EPOLLIN)
    while waiting:
        events = epoll.poll(1.0)
        for fd, _events in events:
            if fd == control.fileno():
                control.recv()  # "stop": the parent gave up waiting
                return received, lost + waiting
            try:
                data = streams[fd].recv(65536)
            except OSError:
                data = b""
            now = time.monotonic()
            if not data:
                lost += 1
                waiting -= 1
                epoll.unregister(fd)
                continue
            buffer = buffers[fd]
            buffer += data
            mark = buffer.find(ALERT_MARK)
            if mark >= 0 and buffer.find(b"\n\n", mark) >= 0:
                received.append(now)
                waiting -= 1
                epoll.unregister(fd)
    return received, lost


def client_process(port: int, count: int, in_flight: int, control) -> None:
    raise_open_files_limit()
    epoll = select.epoll()
    streams, failed = open_streams(epoll, port, count, in_flight)
    control.send(("open", len(streams), failed))
    received, lost = time_alert(epoll, streams, control)
    control.send(("times", received, lost))
    # Reset rather than close: thousands of TIME_WAIT sockets would exhaust
    # the ephemeral ports of the next run.
    linger = struct.pack("ii", 1, 0)
    for sock in streams.values():
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        sock.close()


# Publishing ----------------------------------------------------------------------


def draft_alert():
    from django.utils import timezone

    from beffroi.core.models import Organisation, User
    from beffroi.info.models import Post
    from beffroi.info.services import post_create

    return post_create(
        actor=User.objects.get(username=EDITOR_EMAIL),
        commune=Organisation.objects.get(slug="haisnes"),
        kind=Post.Kind.ALERT,
        fields={
            "title": "Coupure d’eau générale",
            "summary": "Une canalisation a cédé : l’eau est coupée dans toute la commune jusqu’à 18 h.",
            "level": Post.Level.DANGER,
            "expires_at": timezone.now() + timedelta(hours=6),
        },
    )


def publish_in_process(post) -> float:
    """Publish through the services, here; return the monotonic time just after the commit."""
    from beffroi.core.models import User
    from beffroi.info.services import post_transition

    actor = User.objects.get(username=EDITOR_EMAIL)
    post_transition(actor=actor, post=post, action="publish")  # atomic: committed on return
    return time.monotonic()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class BackOffice:
    """An editor in the back office of the running server: real login, password then TOTP."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        cookies = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        self.browser = urllib.request.build_opener(cookies)
        self.poster = urllib.request.build_opener(cookies, _NoRedirect)

    def _form_token(self, path: str) -> tuple[str, str]:
        with self.browser.open(self.base_url + path) as response:
            html = response.read().decode()
            final = urllib.parse.urlsplit(response.url).path
        return final, re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    def _post(self, path: str, fields: dict, *, follow: bool = True):
        opener = self.browser if follow else self.poster
        data = urllib.parse.urlencode(fields).encode()
        try:
            with opener.open(urllib.request.Request(self.base_url + path, data=data)) as response:
                return response.status, urllib.parse.urlsplit(response.url).path
        except urllib.error.HTTPError as exc:  # a redirect not followed
            return exc.code, exc.headers.get("Location", "")

    def log_in(self, email: str, password: str, totp_secret: str) -> None:
        from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

        path, token = self._form_token("/compte/login/")
        _, landed = self._post(path, {"csrfmiddlewaretoken": token, "login": email, "password": password})
        path, token = self._form_token(landed)
        code = format_hotp_value(hotp_value(totp_secret, next(yield_hotp_counters_from_time())))
        _, landed = self._post(path, {"csrfmiddlewaretoken": token, "code": code})
        if not landed.startswith("/gestion/"):
            sys.exit(f"Back-office login failed (ended on {landed})")

    def publish(self, post_id: int) -> float:
        """Press "Publier"; return the monotonic time just before the request left."""
        path, token = self._form_token(f"/gestion/publications/{post_id}/")
        started = time.monotonic()
        status, _ = self._post(
            f"/gestion/publications/{post_id}/action/", {"csrfmiddlewaretoken": token, "action": "publish"}, follow=False
        )
        if status != 302:
            sys.exit(f"Publishing through the back office answered {status}")
        return started


# The run -------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=2000, help="SSE clients (default 2,000)")
    parser.add_argument("--many", action="store_true", help=f"{TARGET_CLIENTS:,} clients, the size of the target")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (LISTEN/NOTIFY) instead of SQLite")
    parser.add_argument("--via-http", action="store_true", help="publish through the server's back office")
    parser.add_argument("--client-processes", type=int, default=1, help="processes sharing the clients (default 1)")
    parser.add_argument("--in-flight", type=int, default=200, help="handshakes in progress at once, per process")
    args = parser.parse_args()
    if args.many:
        args.clients = TARGET_CLIENTS
    return args


def start_clients(port: int, args) -> list:
    # Forked: the children only use sockets (the parent closed its database connections).
    context = multiprocessing.get_context("fork")
    shares = [args.clients // args.client_processes] * args.client_processes
    shares[0] += args.clients - sum(shares)
    clients = []
    for share in shares:
        parent_end, child_end = context.Pipe()
        process = context.Process(target=client_process, args=(port, share, args.in_flight, child_end), daemon=True)
        process.start()
        clients.append((process, parent_end))
    return clients


def collect(clients, tag: str, timeout: float) -> list[tuple]:
    deadline = time.monotonic() + timeout
    answers = []
    for _process, control in clients:
        if not control.poll(max(0.0, deadline - time.monotonic())):
            control.send("stop")
        answer = control.recv()
        assert answer[0] == tag, answer
        answers.append(answer[1:])
    return answers


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


@dataclass
class Run:
    open: int = 0
    failed: int = 0
    connect_seconds: float = 0.0
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    delays: list[float] = field(default_factory=list)  # sorted, seconds
    lost: int = 0

    @property
    def kib_per_stream(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / max(self.open, 1)


def measure(server, port: int, publish, args) -> Run:
    """Open the streams, read the server's memory, publish, time the receipts."""
    run = Run(rss_before_kib=rss_kib(server.pid))
    clients = start_clients(port, args)
    started = time.monotonic()
    opened = collect(clients, "open", CONNECT_TIMEOUT + 10)
    run.open, run.failed = sum(n for n, _ in opened), sum(f for _, f in opened)
    run.connect_seconds = time.monotonic() - started
    time.sleep(1.0)  # let the server settle before reading its memory
    run.rss_after_kib = rss_kib(server.pid)
    published = publish()
    results = collect(clients, "times", RECEIPT_TIMEOUT)
    for process, _ in clients:
        process.join(timeout=30)
    run.delays = sorted(t - published for times, _ in results for t in times)
    run.lost = sum(n for _, n in results)
    return run


def main() -> None:
    args = parse_args()
    limit = raise_open_files_limit()
    if args.clients + 100 > limit:
        sys.exit(f"RLIMIT_NOFILE hard limit is {limit}: too low for {args.clients} streams")
    print_machine()
    with Installation("fanout", postgres=args.postgres) as site:
        site.load_demo()
        port = free_port()
        server = site.start_web(port, backlog=4096)
        site.use_here()
        post = draft_alert()
        if args.via_http:
            from demo.builder import DEMO_PASSWORD, demo_totp_secret

            backoffice = BackOffice(f"http://127.0.0.1:{port}")
            backoffice.log_in(EDITOR_EMAIL, DEMO_PASSWORD, demo_totp_secret(EDITOR_EMAIL))
            publish = partial(backoffice.publish, post.pk)
        else:
            publish = partial(publish_in_process, post)
        from django.conf import settings
        from django.db import connections

        connections.close_all()  # the clients are forked next
        with OtherLoad() as others:
            run = measure(server, port, publish, args)
        report(args, run, others, settings.REALTIME_POLL_SECONDS)
        if not run.delays:
            sys.exit(f"No client received the alert. Server log:\n{Path(server.log_path).read_text()[-3000:]}")


def report(args, run: Run, others: OtherLoad, poll_seconds: float) -> None:
    database = "PostgreSQL (LISTEN/NOTIFY)" if args.postgres else "SQLite (WAL)"
    if args.via_http:
        how = "back office of the server itself (clock starts before the request: upper bound)"
    elif args.postgres:
        how = "services in another process, NOTIFY at commit (clock starts after the commit)"
    else:
        how = (
            f"services in another process; the server polls every {poll_seconds:g} s, "
            f"which adds 0 to {poll_seconds * 1000:.0f} ms (clock starts after the commit)"
        )
    print(table(["run", ""], [
        ["database", database],
        ["published through", how],
        ["streams asked / open / failed", f"{args.clients:,} / {run.open:,} / {run.failed:,}"],
        ["time to open them all", f"{run.connect_seconds:.1f} s ({run.open / run.connect_seconds:,.0f} streams/s)"],
        ["client processes", args.client_processes],
        ["server RSS before / after", f"{run.rss_before_kib / 1024:,.1f} MiB / {run.rss_after_kib / 1024:,.1f} MiB"],
        ["alert received by", f"{len(run.delays):,} streams (lost or late: {run.lost:,})"],
        ["other processes during the run", others.describe()],
    ]))
    print()
    if not run.delays:
        return
    delays = run.delays
    p50, p99, worst = percentile(delays, 0.50), percentile(delays, 0.99), delays[-1]
    complete = len(delays) == args.clients
    kib = run.kib_per_stream
    rows = [
        ["min delay", f"{delays[0] * 1000:.0f} ms", "", ""],
        ["p50 delay", f"{p50 * 1000:.0f} ms", "", ""],
        ["p99 delay", f"{p99 * 1000:.0f} ms", f"< {TARGET_P99 * 1000:.0f} ms", verdict(p99 < TARGET_P99 and complete)],
        ["max delay", f"{worst * 1000:.0f} ms", f"< {TARGET_MAX * 1000:.0f} ms", verdict(worst < TARGET_MAX and complete)],
        ["memory per stream", f"{kib:.1f} KiB", f"< {TARGET_KIB_PER_STREAM} KiB", verdict(kib < TARGET_KIB_PER_STREAM)],
    ]
    print(table([f"alert fan-out, {args.clients:,} clients", "measured", "target", "verdict"], rows))
    if not complete:
        print(f"\nOnly {len(delays):,} of {args.clients:,} clients received the alert: the delay targets fail.")
    if args.clients < TARGET_CLIENTS:
        print(f"\nThe targets are set for {TARGET_CLIENTS:,} clients: run with --many to check them.")


if __name__ == "__main__":
    main()
