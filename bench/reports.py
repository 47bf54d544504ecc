"""Benchmark (d): reports filed through the public form, received live by the agents' consoles.

200 agents (of the organisations the routing rules send reports to) keep their
console's event stream open (/flux/gestion, a session with a second factor
each); inhabitants file reports through the real form (GET /signaler/ for the
CSRF cookie and token, then POST /signaler/, multipart as a browser sends it)
at 20 per second for 60 seconds, open-loop: a submission never waits for the
previous one. For every (report, console) pair the benchmark prints the delay
from the moment the submission's HTTP response arrived to the moment the
console had the whole ``report.new`` frame (one monotonic clock for the whole
machine), and checks that each report reached every console of the
organisation that received it exactly once, and no other console.

    .venv/bin/python bench/reports.py                      # SQLite, 1 web process
    .venv/bin/python bench/reports.py --postgres           # PostgreSQL, one web process per core
    .venv/bin/python bench/reports.py --crash              # SIGKILL a web process at 30 s
    .venv/bin/python bench/reports.py --web-processes 2    # SQLite with two web processes

Web processes: by default as each database is deployed. SQLite is the
embedded default, run by ``manage.py serve`` with one web process: a commit
wakes the hub of the process that made it at once, but other processes only
find the event at their next poll (REALTIME_POLL_SECONDS, 0.25 s). PostgreSQL
is the production set-up, one process per core (deploy/systemd): NOTIFY wakes
every process at commit. ``--web-processes`` measures the other choices.

With ``--crash``, a web process is killed with SIGKILL in the middle of the
run: with one process, the benchmark starts it again (as systemd does); with
several, uvicorn's supervisor replaces the one killed. Submissions go on
(those that find no server fail, as in a browser), consoles reconnect after
2 s with Last-Event-ID as EventSource does. Afterwards every tracking code a
submission received must name exactly one report in the database, and a
submission that got no answer must have left no report or one, never two.

The task worker runs too (``manage.py worker``, as ``manage.py serve``
starts it): every report enqueues two jobs, and it runs one of them at once.
"""

import argparse
import asyncio
import math
import multiprocessing
import os
import random
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from common import (
    PYTHON,
    Installation,
    OtherLoad,
    cpu_seconds,
    free_port,
    print_machine,
    raise_open_files_limit,
    table,
    verdict,
)

TARGET_P99 = 0.200
RETRY_SECONDS = 2.0  # the server's "retry: 2000", which EventSource follows
CONNECT_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
GRACE_SECONDS = 5.0  # after the last answer, for the last frames (and a replay after a crash)
WARM_UP_SUBMISSIONS = 20
MARKER = "Banc d’essai n° "  # + the submission's number, in the address: finds its report afterwards
WARM_UP_MARKER = "Rodage n° "
# Haisnes' outline in the demo data (demo.builder), less a margin.
HAISNES_LAT = (50.492, 50.520)
HAISNES_LON = (2.782, 2.812)
PERCENTILES = (("p50", 0.50), ("p99", 0.99))


# The agents and their consoles (bench process, Django) ------------------------------


@dataclass(frozen=True)
class Console:
    """One agent's console: what its stream needs to open, and where it belongs."""

    session_key: str
    organisation_id: int
    organisation: str  # slug, for the output
    host: str  # the organisation's site, whose console this is


def receiving_services() -> list:
    """Where the routing rules (and, failing them, triage) send reports: (organisation, service) pairs."""
    from beffroi.reports.models import ReportSettings, RoutingRule

    targets = {
        (rule.target_organisation, rule.target_service)
        for rule in RoutingRule.objects.filter(is_active=True).select_related("target_organisation", "target_service")
    }
    targets |= {
        (settings.organisation, settings.triage_service)
        for settings in ReportSettings.objects.exclude(triage_service=None).select_related("organisation", "triage_service")
    }
    return sorted(targets, key=lambda pair: (pair[0].pk, pair[1].pk))


def signed_in_session(user) -> str:
    """A session as allauth leaves it after password and TOTP (see conftest.sign_in_with_second_factor)."""
    from importlib import import_module

    from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    now = time.time()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "username": user.username},
        {"method": "mfa", "at": now, "type": "totp"},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.create()
    return session.session_key


def create_agents(count: int) -> list[Console]:
    """``count`` agents spread evenly over the receiving services, each signed in with a second factor.

    The console's channel is the organisation's: every agent of the
    organisation that receives a report must see it, whatever their service.
    """
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from beffroi.core.models import Domain, Membership, User

    targets = receiving_services()
    hosts = {d.organisation_id: d.hostname for d in Domain.objects.filter(is_primary=True)}
    unusable = make_password(None)  # no password: they never log in, their sessions are made here
    with transaction.atomic():
        users = User.objects.bulk_create(
            User(username=f"agent-{i:03d}@banc.demo", email=f"agent-{i:03d}@banc.demo", first_name="Agent",
                 last_name=f"n° {i}", password=unusable)
            for i in range(count)
        )
        Membership.objects.bulk_create(
            Membership(user=user, organisation=targets[i % len(targets)][0], service=targets[i % len(targets)][1],
                       role=Membership.Role.AGENT)
            for i, user in enumerate(users)
        )
    consoles = []
    for i, user in enumerate(users):
        organisation = targets[i % len(targets)][0]
        consoles.append(Console(signed_in_session(user), organisation.pk, organisation.slug, hosts[organisation.pk]))
    return consoles


@dataclass(frozen=True)
class Choice:
    """A category of the form, and the form fields answering its required questions."""

    category: int
    answers: tuple[tuple[str, str], ...] = ()


def form_categories(commune_slug: str = "haisnes") -> list[Choice]:
    """The categories an inhabitant of the commune may choose (its own and the agglomeration's)."""
    from beffroi.core.models import Organisation
    from beffroi.reports.models import Category

    commune = Organisation.objects.get(slug=commune_slug)
    choices = []
    for category in Category.objects.for_commune(commune).leaves().prefetch_related("questions").order_by("pk"):
        answers = tuple(
            (f"q-{category.pk}-{question.code}", question.options[0][0] if question.has_options else "1")
            for question in category.questions.all()
            if question.required
        )
        choices.append(Choice(category.pk, answers))
    return choices


# The consoles (a child process: non-blocking sockets on epoll, like bench/fanout.py) --------


FRAME_CODE = re.compile(rb'"code":"([0-9A-Z]{4}-[0-9A-Z]{4})"')


class ConsoleStream:
    """One console's EventSource: reads report events, and reconnects as a browser does.

    The body is chunked (one chunk per frame, as uvicorn writes them); the
    stream is open once the server sent ``retry:``, which it does after
    subscribing it. When the connection drops, it comes back after
    RETRY_SECONDS with Last-Event-ID, so the server replays what it missed.
    """

    def __init__(self, console: Console, port: int, cookie_name: str):
        self.console = console
        self.port = port
        self.cookie = f"{cookie_name}={console.session_key}"
        self.sock: socket.socket | None = None
        self.state = "closed"  # connecting, head, body
        self.raw = bytearray()  # bytes not yet de-chunked
        self.text = bytearray()  # event-stream text not yet cut into frames
        self.last_id: int | None = None
        self.opened = False  # received "retry:" at least once
        self.received: list[tuple[float, int, str, str]] = []  # (time, event id, type, code)
        self.connections = 0
        self.refusals = 0  # connection refused, or an answer other than 200
        self.losses = 0  # open streams that broke
        self.reconnect_at: float | None = None
        self.error = ""

    def request(self) -> bytes:
        lines = [
            "GET /flux/gestion HTTP/1.1",
            f"Host: {self.console.host}:{self.port}",
            "Accept: text/event-stream",
            "Cache-Control: no-cache",
            f"Cookie: {self.cookie}",
        ]
        if self.last_id is not None:
            lines.append(f"Last-Event-ID: {self.last_id}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def connect(self, epoll, by_fd: dict) -> None:
        self.reconnect_at = None
        self.raw.clear()
        self.text.clear()
        self.sock = socket.socket()
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", self.port))
        self.state = "connecting"
        by_fd[self.sock.fileno()] = self
        epoll.register(self.sock.fileno(), select.EPOLLOUT)

    def drop(self, epoll, by_fd: dict, now: float, *, refused: bool) -> None:
        if refused:
            self.refusals += 1
        elif self.state == "body":
            self.losses += 1
        fd = self.sock.fileno()
        epoll.unregister(fd)
        del by_fd[fd]
        self.sock.close()
        self.sock = None
        self.state = "closed"
        self.reconnect_at = now + RETRY_SECONDS

    def on_ready(self, epoll, by_fd: dict, now: float) -> None:
        if self.state == "connecting":
            if self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                return self.drop(epoll, by_fd, now, refused=True)
            self.connections += 1
            self.sock.send(self.request())
            self.state = "head"
            epoll.modify(self.sock.fileno(), select.EPOLLIN)
            return
        try:
            data = self.sock.recv(262144)
        except OSError:
            data = b""
        now = time.monotonic()  # after the read: the frame is in hand
        if not data:
            return self.drop(epoll, by_fd, now, refused=self.state == "head")
        self.raw += data
        if self.state == "head":
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.raw.startswith(b"HTTP/1.1 200"):
                self.error = bytes(self.raw[:300]).decode("latin-1")
                return self.drop(epoll, by_fd, now, refused=True)
            del self.raw[: end + 4]
            self.state = "body"
        if not self.dechunk():
            return self.drop(epoll, by_fd, now, refused=False)  # the server ended the response
        self.read_frames(now)

    def dechunk(self) -> bool:
        """Move complete chunks from ``raw`` to ``text``; False once the last chunk came."""
        raw = self.raw
        while True:
            end = raw.find(b"\r\n")
            if end < 0:
                return True
            size = int(bytes(raw[:end]).split(b";")[0], 16)
            if size == 0:
                return False
            if len(raw) < end + 2 + size + 2:
                return True
            self.text += raw[end + 2 : end + 2 + size]
            del raw[: end + 2 + size + 2]

    def read_frames(self, now: float) -> None:
        text = self.text
        while (cut := text.find(b"\n\n")) >= 0:
            frame = bytes(text[:cut])
            del text[: cut + 2]
            if frame.startswith(b"retry:"):
                self.opened = True
                continue
            event_id, kind = None, ""
            for line in frame.split(b"\n"):
                if line.startswith(b"id: "):
                    event_id = int(line[4:])
                elif line.startswith(b"event: "):
                    kind = line[7:].decode()
            if event_id is not None:
                self.last_id = event_id
            if kind.startswith("report."):
                match = FRAME_CODE.search(frame)
                self.received.append((now, event_id, kind, match.group(1).decode() if match else ""))


def consoles_process(port: int, consoles: list[Console], cookie_name: str, control) -> None:
    """Open every console, tell the parent, record frames until told to stop, send them back."""
    raise_open_files_limit()
    epoll = select.epoll()
    by_fd: dict[int, ConsoleStream] = {}
    streams = [ConsoleStream(console, port, cookie_name) for console in consoles]
    for stream in streams:
        stream.connect(epoll, by_fd)
    epoll.register(control.fileno(), select.EPOLLIN)
    announced = False
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while True:
        for fd, _events in epoll.poll(0.05):
            if fd == control.fileno():
                control.recv()  # "stop"
                control.send([(s.console, s.received, s.connections, s.refusals, s.losses, s.error) for s in streams])
                linger = struct.pack("ii", 1, 0)  # reset: no TIME_WAIT left for the next run
                for stream in streams:
                    if stream.sock is not None:
                        stream.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                        stream.sock.close()
                return
            by_fd[fd].on_ready(epoll, by_fd, time.monotonic())
        now = time.monotonic()
        for stream in streams:
            if stream.reconnect_at is not None and now >= stream.reconnect_at:
                stream.connect(epoll, by_fd)
        if not announced and (all(s.opened for s in streams) or now > deadline):
            opened = sum(s.opened for s in streams)
            errors = Counter(s.error.split("\r\n")[0] for s in streams if not s.opened)
            control.send(("open", opened, dict(errors)))
            announced = True


# The inhabitants (a child process: asyncio, open-loop) ----------------------------------


@dataclass
class Submission:
    index: int
    category: Choice
    scheduled: float  # monotonic time it was due to start
    posted: float | None = None  # the POST's last byte written
    answered: float | None = None  # the POST's whole response read
    status: int | None = None
    token: str = ""
    error: str = ""  # no answer: where and why


async def read_response(reader) -> tuple[int, dict, list[str], bytes]:
    """One HTTP/1.1 response: status, headers, Set-Cookie values, body."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers, cookies = {}, []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "set-cookie":
            cookies.append(value)
        elif name:
            headers[name] = value
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        body = bytearray()
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readuntil(b"\r\n")
        body = bytes(body)
    else:
        body = b""
    return status, headers, cookies, body


def multipart(fields: list[tuple[str, str]], boundary: str) -> bytes:
    """The form as a browser sends it: multipart, with the empty file input of "photos"."""
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n' for n, v in fields]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n"
    )
    parts.append(f"--{boundary}--\r\n")
    return "".join(parts).encode()


def report_fields(submission: Submission, rng: random.Random, marker: str) -> list[tuple[str, str]]:
    latitude = rng.uniform(*HAISNES_LAT)
    longitude = rng.uniform(*HAISNES_LON)
    return [
        ("category", str(submission.category.category)),
        *submission.category.answers,
        ("description", f"Signalement d’essai n° {submission.index} : constaté ce matin en passant, "
                        "merci d’intervenir dès que possible."),
        ("latitude", f"{latitude:.6f}"),
        ("longitude", f"{longitude:.6f}"),
        ("address", f"{marker}{submission.index}"),
    ]


async def file_report(submission: Submission, port: int, host: str, fields: list[tuple[str, str]], last_post=None) -> None:
    """An inhabitant: loads the form (CSRF cookie and token), then sends it, on one kept-alive connection."""
    stage = "connect"
    writer = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        stage = "GET"
        writer.write(f"GET /signaler/ HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/html\r\n\r\n".encode())
        status, _headers, cookies, body = await read_response(reader)
        csrf_cookie = next(c.split(";")[0] for c in cookies if c.startswith("csrftoken="))
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
        boundary = f"----BancDEssai{submission.index:08d}"
        data = multipart([("csrfmiddlewaretoken", token), *fields], boundary)
        head = (
            f"POST /signaler/ HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: http://{host}:{port}\r\n"
            f"Referer: http://{host}:{port}/signaler/\r\nCookie: {csrf_cookie}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        stage = "POST"
        writer.write(head.encode() + data)
        await writer.drain()
        submission.posted = time.monotonic()
        if last_post is not None:
            last_post.value = submission.posted
        status, headers, _cookies, _body = await read_response(reader)
        submission.answered = time.monotonic()
        submission.status = status
        follow = re.match(r"/suivi/([^/]+)/", headers.get("location", ""))
        submission.token = follow.group(1) if follow else ""
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, AttributeError,
            StopIteration) as exc:
        submission.error = f"{stage}: {type(exc).__name__}"
    finally:
        if writer is not None:
            writer.close()


async def file_reports(port: int, host: str, categories: list[Choice], rate: float, count: int, seed: int,
                       last_post) -> list[Submission]:
    """``count`` submissions, one every 1/``rate`` s, each started on time whatever the others do."""
    rng = random.Random(seed)
    start = time.monotonic() + 0.05
    submissions, tasks = [], []
    for index in range(count):
        submission = Submission(index, rng.choice(categories), start + index / rate)
        fields = report_fields(submission, rng, MARKER)
        delay = submission.scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        submissions.append(submission)
        tasks.append(asyncio.create_task(asyncio.wait_for(file_report(submission, port, host, fields, last_post), REQUEST_TIMEOUT)))
    for task, submission in zip(tasks, submissions, strict=True):
        try:
            await task
        except TimeoutError:
            submission.error = "timeout"
    return submissions


def inhabitants_process(port: int, host: str, categories: list[Choice], rate: float, count: int, seed: int, last_post,
                        control) -> None:
    control.send(asyncio.run(file_reports(port, host, categories, rate, count, seed, last_post)))


# The crash --------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (zombies left out: uvicorn's supervisor keeps one)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def web_workers(supervisor: int) -> list[int]:
    """uvicorn's worker processes: its children started by multiprocessing's spawn
    (not the resource tracker, not a zombie)."""
    workers = []
    for pid in children(supervisor):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            workers.append(pid)
    return workers


@dataclass
class Crash:
    killed_pid: int = 0
    killed_at: float = 0.0  # monotonic
    back_at: float = 0.0  # monotonic: the server answered again (one process) or was replaced (several)
    restarted_by: str = ""
    post_in_flight: bool = False  # a POST had just been sent when the process was killed


def when_a_post_is_in_flight(last_post, within: float = 0.003, patience: float = 5.0) -> bool:
    """Wait until a POST was sent less than ``within`` s ago: the server is then handling it
    (a submission takes 10 ms or more), so the kill lands in the middle of one. Gives up
    after ``patience`` seconds (the kill happens anyway), and says whether it waited in vain."""
    deadline = time.monotonic() + patience
    while time.monotonic() - last_post.value > within:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.0005)
    return True


def crash_web(site: Installation, server, port: int, processes: int, last_post) -> tuple[Crash, object]:
    """SIGKILL a web process while it handles a submission; bring the service back as production would."""
    crash = Crash()
    crash.post_in_flight = when_a_post_is_in_flight(last_post)
    if processes == 1:
        crash.killed_pid = server.pid
        crash.killed_at = time.monotonic()
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        server = site.start_web(port, backlog=4096, name="web-after-crash")
        crash.back_at = time.monotonic()
        crash.restarted_by = "the benchmark, at once (systemd: Restart=on-failure)"
    else:
        before = web_workers(server.pid)
        crash.killed_pid = before[0]
        crash.killed_at = time.monotonic()
        os.kill(crash.killed_pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:  # uvicorn's supervisor checks its workers every 0.5 s
            now = web_workers(server.pid)
            if len(now) == processes and crash.killed_pid not in now:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not replace its worker {crash.killed_pid} within 30 s: {now}")
            time.sleep(0.01)
        crash.back_at = time.monotonic()
        crash.restarted_by = "uvicorn's supervisor (a new worker process; readiness not awaited)"
    return crash, server


# CPU by role ------------------------------------------------------------------------------


class CpuByRole(threading.Thread):
    """CPU seconds used by each role (web, worker, consoles, inhabitants, PostgreSQL) during the run.

    Sampled every 0.2 s so that a process that ends (the one killed) keeps
    what it used. PostgreSQL's backends are not our children: they are found
    by the database name in their process title.
    """

    def __init__(self, roles, database: str | None):
        super().__init__(daemon=True)
        self.roles = roles  # () -> {pid: role}
        self.database = database
        self.baseline: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.stopping = threading.Event()

    def _pids(self) -> dict[int, str]:
        pids = dict(self.roles())
        if self.database:
            title = f" {self.database} ".encode()
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        cmdline = Path(entry.path, "cmdline").read_bytes()
                    except OSError:
                        continue
                    if cmdline.startswith(b"postgres: ") and title in cmdline:
                        pids[int(entry.name)] = "PostgreSQL"
        return pids

    def sample(self, *, first: bool = False) -> None:
        for pid, role in self._pids().items():
            try:
                used = cpu_seconds(pid)
            except (OSError, IndexError):
                continue
            if first:
                self.baseline[pid] = used
            self.last[pid] = (role, used)

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            self.sample()

    def start(self) -> None:
        self.sample(first=True)
        super().start()

    def used(self) -> dict[str, float]:
        used: dict[str, float] = defaultdict(float)
        for pid, (role, seconds) in self.last.items():
            used[role] += seconds - self.baseline.get(pid, 0.0)
        return dict(used)

    def stop(self) -> dict[str, float]:
        self.stopping.set()
        self.join()
        self.sample()
        return self.used()


class OthersBesidesOurDatabase(OtherLoad):
    """OtherLoad, not counting our own PostgreSQL backends as "others"."""

    def __init__(self, cpu: CpuByRole):
        self.cpu = cpu

    def __exit__(self, *exc):
        seconds = time.monotonic() - self.started
        super().__exit__(*exc)
        ours = self.cpu.used().get("PostgreSQL", 0.0)
        self.share = max(0.0, self.share - ours / (seconds * os.cpu_count()))


# The run ----------------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (LISTEN/NOTIFY) instead of SQLite")
    parser.add_argument("--web-processes", type=int, default=None,
                        help="uvicorn workers (default: 1 on SQLite, one per core on PostgreSQL)")
    parser.add_argument("--consoles", type=int, default=200, help="agents' consoles (default 200)")
    parser.add_argument("--rate", type=float, default=20.0, help="submissions per second (default 20)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of submissions (default 60)")
    parser.add_argument("--crash", action="store_true", help="SIGKILL a web process in the middle of the run")
    parser.add_argument("--crash-at", type=float, default=None, help="seconds into the run (default: half-way)")
    parser.add_argument("--seed", type=int, default=2026, help="random choices of categories and places")
    args = parser.parse_args()
    if args.web_processes is None:
        args.web_processes = os.cpu_count() if args.postgres else 1
    if args.crash_at is None:
        args.crash_at = args.duration / 2
    return args


def warm_up(port: int, host: str, categories: list[Choice]) -> None:
    """A few reports before the consoles connect: first requests compile templates and fill caches.

    A production server is warm; these reports reach no console (none is open
    yet) and are not counted.
    """
    async def run():
        for index in range(WARM_UP_SUBMISSIONS):
            submission = Submission(index, categories[index % len(categories)], time.monotonic())
            await file_report(submission, port, host, report_fields(submission, random.Random(index), WARM_UP_MARKER))
            if submission.status != 302:
                sys.exit(f"Warm-up submission answered {submission.status} {submission.error}")
    asyncio.run(run())


def start_child(target, *args):
    """A forked child that talks to us over a pipe (the parent closed its database connections first)."""
    parent_end, child_end = multiprocessing.get_context("fork").Pipe()
    process = multiprocessing.get_context("fork").Process(target=target, args=(*args, child_end), daemon=True)
    process.start()
    return process, parent_end


@dataclass
class Run:
    consoles: int = 0
    opened: int = 0
    open_errors: dict = field(default_factory=dict)
    submissions: list[Submission] = field(default_factory=list)
    streams: list = field(default_factory=list)  # (console, received, connections, refusals, losses, error)
    crash: Crash | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    others: OtherLoad | None = None


def measure(site: Installation, server, port: int, args, consoles: list[Console], categories: list[Choice],
            cookie_name: str, worker) -> Run:
    run = Run(consoles=len(consoles))
    console_process, console_pipe = start_child(consoles_process, port, consoles, cookie_name)
    _tag, run.opened, run.open_errors = console_pipe.recv()
    if run.opened < len(consoles):
        console_pipe.send("stop")
        console_pipe.recv()
        sys.exit(f"Only {run.opened} of {len(consoles)} consoles opened: {run.open_errors}")
    host = next(c.host for c in consoles if c.organisation == "haisnes")
    count = round(args.rate * args.duration)
    servers = [server]
    inhabitants = None

    def roles() -> dict[int, str]:
        pids = {os.getpid(): "benchmark", worker.pid: "worker", console_process.pid: "consoles (client)"}
        if inhabitants is not None:
            pids[inhabitants.pid] = "inhabitants (client)"
        for web in servers:
            if web.poll() is None:
                pids[web.pid] = "web"
                pids.update({child: "web" for child in children(web.pid)})
        return pids

    cpu = CpuByRole(roles, site.database)
    cpu.start()
    with OthersBesidesOurDatabase(cpu) as others:
        started = time.monotonic()
        last_post = multiprocessing.get_context("fork").Value("d", 0.0, lock=False)  # when the latest POST left
        inhabitants, inhabitants_pipe = start_child(
            inhabitants_process, port, host, categories, args.rate, count, args.seed, last_post
        )
        if args.crash:
            time.sleep(max(0.0, started + args.crash_at - time.monotonic()))
            run.crash, server = crash_web(site, server, port, args.web_processes, last_post)
            servers.append(server)
        run.submissions = inhabitants_pipe.recv()
        inhabitants.join(timeout=10)
        time.sleep(GRACE_SECONDS)  # the last frames, and any replay after a reconnection
        console_pipe.send("stop")
        run.streams = console_pipe.recv()
        console_process.join(timeout=10)
        run.seconds = time.monotonic() - started
    run.cpu = cpu.stop()
    run.others = others
    return run


def main() -> None:
    args = parse_args()
    raise_open_files_limit()
    print_machine()
    settings_env = {"REPORTS_PER_HOUR": "1000000"}  # every submission comes from 127.0.0.1
    with Installation("reports", postgres=args.postgres, **settings_env) as site:
        site.load_demo()
        site.use_here()
        from django.conf import settings
        from django.db import connections

        consoles = create_agents(args.consoles)
        categories = form_categories()
        connections.close_all()  # children are forked next
        port = free_port()
        server = site.start_web(port, workers=args.web_processes, backlog=4096)
        worker = site.start("worker", [PYTHON, "manage.py", "worker", "--interval", "0.5", "--no-startup-delay"])
        host = next(c.host for c in consoles if c.organisation == "haisnes")
        warm_up(port, host, categories)
        run = measure(site, server, port, args, consoles, categories, settings.SESSION_COOKIE_NAME, worker)
        connections.close_all()
        outcome = check(run)
        report(args, run, outcome, settings.REALTIME_POLL_SECONDS)
        if not outcome.ok:
            logs = [p for p in sorted(site.var_dir.glob("*.log"))]
            print("\nLast lines of the server logs:")
            for log in logs:
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
            sys.exit(1)


# Checks -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    answered: int = 0  # 302 with a follow link: the author has a tracking code
    other_status: Counter = field(default_factory=Counter)
    no_answer: Counter = field(default_factory=Counter)  # why
    unanswered_present: int = 0  # the POST was sent, no answer came, the report exists
    unanswered_absent: int = 0
    codes_found_once: int = 0  # tracking codes of answered submissions found exactly once
    codes_missing: int = 0
    reports_twice: int = 0  # submissions with more than one report
    delays: list[float] = field(default_factory=list)  # sorted, seconds, from the response
    delays_from_post: list[float] = field(default_factory=list)  # from the POST's last byte: an upper bound
    answer_times: list[float] = field(default_factory=list)  # POST → response
    pairs_expected: int = 0
    missing: int = 0
    duplicated: int = 0
    misrouted: int = 0
    unexpected: int = 0  # report events of reports nobody answered for (no answer during the crash)
    per_organisation: Counter = field(default_factory=Counter)  # reports received
    consoles_per_organisation: Counter = field(default_factory=Counter)
    reconnections: int = 0
    losses: int = 0

    @property
    def delivered_ok(self) -> bool:
        return not (self.missing or self.duplicated or self.misrouted)

    @property
    def stored_ok(self) -> bool:
        return self.codes_missing == 0 and self.reports_twice == 0

    @property
    def ok(self) -> bool:
        return self.answered > 0 and self.delivered_ok and self.stored_ok


def stored_reports(submissions: list[Submission]) -> tuple[dict, Counter]:
    """From the database: token → (code, organisation id), and how many reports each submission left."""
    from beffroi.reports.models import FollowToken, Report
    from beffroi.reports.tokens import token_hash

    hashes = {token_hash(s.token): s.token for s in submissions if s.token}
    codes = {}
    rows = FollowToken.objects.filter(token_hash__in=list(hashes)).values_list(
        "token_hash", "report__code", "report__organisation_id"
    )
    for hashed, code, organisation_id in rows:
        codes[hashes[hashed]] = (code, organisation_id)
    per_submission = Counter(
        int(address[len(MARKER):])
        for address in Report.objects.filter(address__startswith=MARKER).values_list("address", flat=True)
    )
    return codes, per_submission


def check(run: Run) -> Outcome:
    from beffroi.reports.models import Report

    outcome = Outcome()
    codes, per_submission = stored_reports(run.submissions)
    answered = {}  # code → submission
    for submission in run.submissions:
        if submission.token:
            outcome.answered += 1
            found = codes.get(submission.token)
            if found is None:
                outcome.codes_missing += 1
                continue
            code, organisation_id = found
            if Report.objects.filter(code=code).count() == 1 and per_submission[submission.index] == 1:
                outcome.codes_found_once += 1
            answered[code] = (submission, organisation_id)
            outcome.answer_times.append(submission.answered - submission.posted)
        elif submission.status is not None:
            outcome.other_status[submission.status] += 1
        else:
            outcome.no_answer[submission.error] += 1
            if submission.posted is not None or submission.error.startswith("POST"):
                if per_submission[submission.index]:
                    outcome.unanswered_present += 1
                else:
                    outcome.unanswered_absent += 1
        if per_submission[submission.index] > 1:
            outcome.reports_twice += 1

    consoles_of = Counter(console.organisation_id for console, *_ in run.streams)
    outcome.consoles_per_organisation = Counter({console.organisation: 0 for console, *_ in run.streams})
    for console, *_ in run.streams:
        outcome.consoles_per_organisation[console.organisation] += 1
    for _code, (_submission, organisation_id) in answered.items():
        outcome.pairs_expected += consoles_of[organisation_id]
    for console, received, connections, _refusals, losses, _error in run.streams:
        outcome.reconnections += connections - 1
        outcome.losses += losses
        seen = Counter()
        for when, _event_id, kind, code in received:
            if kind != "report.new":
                continue
            if code not in answered:
                outcome.unexpected += 1
                continue
            submission, organisation_id = answered[code]
            if organisation_id != console.organisation_id:
                outcome.misrouted += 1
                continue
            seen[code] += 1
            if seen[code] == 1:
                outcome.delays.append(when - submission.answered)
                outcome.delays_from_post.append(when - submission.posted)
        outcome.duplicated += sum(n - 1 for n in seen.values() if n > 1)
        expected = [code for code, (_s, organisation_id) in answered.items() if organisation_id == console.organisation_id]
        outcome.missing += sum(1 for code in expected if not seen[code])
    for _submission, organisation_id in answered.values():
        outcome.per_organisation[organisation_id] += 1
    outcome.delays.sort()
    outcome.delays_from_post.sort()
    outcome.answer_times.sort()
    return outcome


# Output -----------------------------------------------------------------------------------


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return " / ".join(ms(v) for v in (values[0], *(percentile(values, f) for _, f in PERCENTILES), values[-1]))


def report(args, run: Run, outcome: Outcome, poll_seconds: float) -> None:
    from beffroi.core.models import Organisation

    names = dict(Organisation.objects.values_list("pk", "slug"))
    database = "PostgreSQL (LISTEN/NOTIFY)" if args.postgres else "SQLite (WAL)"
    if args.postgres:
        wake = "NOTIFY wakes every web process at commit"
    elif args.web_processes == 1:
        wake = "the web process that commits wakes its own streams at once"
    else:
        wake = (f"the process that commits wakes its own streams at once; the others poll every {poll_seconds:g} s "
                f"(adds 0 to {poll_seconds * 1000:.0f} ms to the consoles they serve)")
    submitted = len(run.submissions)
    span = (run.submissions[-1].scheduled - run.submissions[0].scheduled) if submitted > 1 else 0.0
    consoles = ", ".join(f"{name} {n}" for name, n in sorted(outcome.consoles_per_organisation.items()))
    reports_by = ", ".join(f"{names.get(pk, pk)} {n}" for pk, n in sorted(outcome.per_organisation.items()))
    cpu = ", ".join(f"{role} {seconds / run.seconds:.0%}" for role, seconds in sorted(run.cpu.items(), key=lambda i: -i[1]))
    rows = [
        ["database", database],
        ["web processes", f"{args.web_processes} (uvicorn --workers {args.web_processes}), {wake}"],
        ["task worker", "manage.py worker --interval 0.5"],
        ["consoles open", f"{run.opened} of {run.consoles} ({consoles})"],
        ["submissions", f"{submitted:,} at {args.rate:g}/s over {span:.1f} s (open-loop), GET /signaler/ then "
                        "multipart POST /signaler/, each on a new connection"],
        ["answered 302 with a follow link", f"{outcome.answered:,} (received by: {reports_by})"],
        ["answered otherwise", dict(outcome.other_status) or "none"],
        ["no answer", dict(outcome.no_answer) or "none"],
        ["POST → response (min/p50/p99/max)", spread(outcome.answer_times)],
        ["console reconnections / streams broken", f"{outcome.reconnections} / {outcome.losses}"],
        ["CPU during the run (of one core)", cpu],
        ["other processes during the run", run.others.describe()],
    ]
    if run.crash:
        crash = run.crash
        first = run.submissions[0].scheduled
        rows.insert(5, ["crash", f"SIGKILL of web process {crash.killed_pid} at {crash.killed_at - first:.1f} s; "
                                 f"back after {crash.back_at - crash.killed_at:.1f} s, started by {crash.restarted_by}; "
                                 f"a POST just sent: {'yes' if crash.post_in_flight else 'no (waited 5 s in vain)'}"])
    print(table(["run", ""], rows))
    print()
    pairs = len(outcome.delays)
    rows = [
        ["(report, console) pairs expected / received", f"{outcome.pairs_expected:,} / {pairs:,}", "all", verdict(pairs == outcome.pairs_expected and pairs > 0)],
        ["missing / twice / to another organisation", f"{outcome.missing} / {outcome.duplicated} / {outcome.misrouted}", "0 / 0 / 0", verdict(outcome.delivered_ok)],
    ]
    if outcome.delays:
        delays = outcome.delays
        p99 = percentile(delays, 0.99)
        rows += [
            ["delay from the response: min", ms(delays[0]), "", ""],
            ["p50", ms(percentile(delays, 0.50)), "", ""],
            # With a crash, delays include the reconnection: the target is for runs without one.
            ["p99", ms(p99), "(no crash)" if args.crash else f"< {ms(TARGET_P99)}",
             "" if args.crash else verdict(p99 < TARGET_P99 and outcome.delivered_ok)],
            ["max", ms(delays[-1]), "", ""],
            ["delay from the POST sent (min/p50/p99/max)", spread(outcome.delays_from_post), "", ""],
        ]
    print(table([f"delivery to the consoles, {database}", "measured", "target", "verdict"], rows))
    if outcome.delays and outcome.delays[0] < 0:
        early = sum(1 for d in outcome.delays if d < 0)
        print(f"\n{early:,} pairs ({early / pairs:.0%}) were on the console before the author's response arrived "
              "(negative delays): the hub sends at commit, while Django still finishes the response.")
    if args.crash:
        killed_at = run.crash.killed_at
        in_flight = sum(1 for s in run.submissions if s.posted is not None and s.posted <= killed_at
                        and (s.answered is None or s.answered > killed_at))
        print()
        print(table(["after the crash: the database", "count", "target", "verdict"], [
            ["POSTs sent and not yet answered when the process was killed", f"{in_flight:,}", "", ""],
            ["tracking codes received", f"{outcome.answered:,}", "", ""],
            ["… each naming exactly one report", f"{outcome.codes_found_once:,}", f"{outcome.answered:,}",
             verdict(outcome.codes_found_once == outcome.answered and outcome.answered > 0)],
            ["… naming no report", f"{outcome.codes_missing:,}", "0", verdict(outcome.codes_missing == 0)],
            ["POSTs sent without an answer: report absent", f"{outcome.unanswered_absent:,}", "", ""],
            ["POSTs sent without an answer: report present once", f"{outcome.unanswered_present:,}", "", ""],
            ["submissions that left two reports or more", f"{outcome.reports_twice:,}", "0", verdict(outcome.reports_twice == 0)],
            ["report events of unanswered reports on consoles", f"{outcome.unexpected:,}", "", ""],
        ]))
        print("\nDelays in a crash run include the consoles' reconnection (2 s, then replay with Last-Event-ID): "
              "the p99 target is for runs without a crash.")


if __name__ == "__main__":
    main()
