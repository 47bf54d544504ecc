"""What the three benchmarks share: a private installation, servers, the machine, tables.

Each benchmark runs against its own var directory (and, for PostgreSQL, its own
database), so it never touches the developer's ``var/`` or another run.
"""

import datetime
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"


# The machine ------------------------------------------------------------------


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU time all cores spent on anything but idling, since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS  # minus idle and iowait


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of all cores busy over ``seconds``."""
    before = _machine_busy_seconds()
    time.sleep(seconds)
    return (_machine_busy_seconds() - before) / (seconds * os.cpu_count())


def _our_cpu_seconds() -> float:
    """CPU time of this process and its descendants, including the ones that ended and were reaped."""
    parents, used = {}, {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            pid = int(entry.name)
            parents[pid] = int(fields[1])
            used[pid] = sum(int(v) for v in fields[11:15]) / CLOCK_TICKS  # utime, stime, cutime, cstime
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += used.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


class OtherLoad:
    """Share of the machine busy with anything but this benchmark, while it measures.

    The machine may be shared (another developer's test suite): a figure
    measured while others used the CPU is low, and the output says so.
    """

    def __enter__(self):
        self.started = time.monotonic()
        self.busy = _machine_busy_seconds()
        self.ours = _our_cpu_seconds()
        return self

    def __exit__(self, *exc):
        others = (_machine_busy_seconds() - self.busy) - (_our_cpu_seconds() - self.ours)
        self.share = max(0.0, others / ((time.monotonic() - self.started) * os.cpu_count()))

    def describe(self) -> str:
        note = "" if self.share < 0.05 else "  WARNING: the machine was not quiet, figures are low"
        return f"{self.share:.0%} of the machine{note}"


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    git = ["git", "-C", str(ROOT)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    changed = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout
    return f"{commit or 'unknown'}{' + uncommitted changes' if changed.strip() else ''}"


def machine() -> list[tuple[str, str]]:
    """What docs/benchmarks.md records beside every figure."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor(),
    )
    memory = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    return [
        ("date", datetime.datetime.now().astimezone().isoformat(timespec="seconds")),
        ("CPU", f"{cpu}, {os.cpu_count()} cores (nproc)"),
        ("memory", f"{memory} GiB (free -g)"),
        ("python", platform.python_version()),
        ("kernel", platform.release()),
        ("code", code_version()),
        ("CPU busy before the run", f"{cpu_busy():.0%} (other processes; should be near 0 %)"),
    ]


def raise_open_files_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0) -> bytes:
    """GET ``url`` until it answers 200; return the body."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


# Output -----------------------------------------------------------------------


def table(headers: list[str], rows: list[list]) -> str:
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def wait_for_quiet(limit: float = 0.10, patience: float = 120.0) -> None:
    """Other processes on the machine (a test suite...) skew every figure: wait for them a while."""
    deadline = time.monotonic() + patience
    while cpu_busy() > limit and time.monotonic() < deadline:
        pass


def print_machine() -> None:
    wait_for_quiet()
    print(table(["machine", ""], [list(row) for row in machine()]))
    print()


# A private installation -------------------------------------------------------


class Installation:
    """A var directory (and optionally a PostgreSQL database) of its own, and the processes started on it.

    Use it as a context manager: the processes are stopped and the directory is
    removed at the end, whatever happens.
    """

    def __init__(self, name: str, *, postgres: bool = False, **settings: str):
        self.var_dir = Path(tempfile.mkdtemp(prefix=f"beffroi-bench-{name}-"))
        self.env = dict(os.environ, BEFFROI_VAR_DIR=str(self.var_dir), LOG_LEVEL="WARNING", **settings)
        self.env.pop("DATABASE_URL", None)
        self.database = None
        if postgres:
            self.database = f"beffroi_bench_{name}"
            self.env["DATABASE_URL"] = f"{POSTGRES_SERVER}/{self.database}"
        self.processes: list[subprocess.Popen] = []

    def __enter__(self):
        if self.database:
            self._postgres(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self._postgres(f'CREATE DATABASE "{self.database}"')
        return self

    def __exit__(self, *exc):
        for process in reversed(self.processes):
            stop(process)
        if self.database:  # FORCE: also ends this process's own connections
            self._postgres(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.var_dir, ignore_errors=True)

    @staticmethod
    def _postgres(statement: str) -> None:
        import psycopg

        with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as connection:
            connection.execute(statement)

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def load_demo(self) -> None:
        """The demo commune (Haisnes on 127.0.0.1 and localhost), as ``make run`` sets it up."""
        self.manage("migrate", "--noinput", "-v0")
        self.manage("createcachetable")
        self.manage("collectstatic", "--noinput", "-v0")
        self.manage("load_demo")

    def use_here(self) -> None:
        """Point this process's Django at the installation, then set Django up."""
        os.environ.update(self.env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beffroi.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()

    def start(self, name: str, command: list[str], **extra_env: str) -> subprocess.Popen:
        log = open(self.var_dir / f"{name}.log", "wb")  # the child keeps it open
        process = subprocess.Popen(command, cwd=ROOT, env=dict(self.env, **extra_env), stdout=log, stderr=log)
        process.log_path = log.name
        self.processes.append(process)
        return process

    def start_web(
        self, port: int, *, workers: int = 1, backlog: int = 2048, name: str = "web", **extra_env: str
    ) -> subprocess.Popen:
        """The application as ``manage.py serve`` starts it (uvicorn, uvloop, httptools).

        ``name`` names its log: a server started again after a crash keeps the first one's.
        """
        command = [
            PYTHON, "-m", "uvicorn", "beffroi.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--backlog", str(backlog),
            "--loop", "uvloop", "--http", "httptools", "--lifespan", "on", "--no-access-log", "--no-server-header",
        ]
        process = self.start(name, command, **extra_env)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/", timeout=60)
        except OSError:
            sys.exit(f"The web server did not start; its log:\n{Path(process.log_path).read_text()[-3000:]}")
        return process


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
