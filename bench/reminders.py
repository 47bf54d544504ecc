"""Benchmark (b): 100,000 safe reminders falling due within 10 minutes, sent to the fake OVH API.

A few hundred beneficiaries open their safe (``safe_open``: account, safe key
wrapped by the installation's keyring, mobile number sealed); each has
appointments with a reminder one hour before. The first appointment of each
safe is saved through ``record_save`` (journal, reminder, scheduling); the
others are bulk-created the way ``record_save`` writes them (fields sealed
with ``seal_data`` and the safe's real key, one reminder due ``starts_at`` - 60
min), since saving 100,000 of them one by one would take longer than the
run. Their due times are spread uniformly at random over a window that opens
``--lead`` seconds after the set-up ends (all the rows are shifted there in
one UPDATE at the end), and ``ensure_reminders_scheduled`` is called once.

The fake OVHcloud SMS API runs in its own process (``python -m
fakes.ovh_sms``, it checks every signature), and the real task
worker (``manage.py worker --interval 0.5``, as ``manage.py serve`` starts it)
with SMS_BACKEND=ovh, the fake's credentials and the installation's keyring.
It hands each reminder over to the SMS outbox when it falls due
(``hand_over_reminders``) and the outbox sends it (``dispatch_sms``).

The lateness of a reminder is the time the fake provider accepted its SMS
(its clock, ``time.time()``) minus its due time (the database's ``due_at``):
both on this machine, one wall clock. Afterwards every reminder's tag ("r<id>")
must have been accepted once (duplicates: tags accepted twice or more; lost:
never accepted by the end of the window plus the grace period), to the
beneficiary's number, with the appointment's text.

    .venv/bin/python bench/reminders.py                          # SQLite, 100,000 over 600 s
    .venv/bin/python bench/reminders.py --postgres               # PostgreSQL
    .venv/bin/python bench/reminders.py --crash                  # SIGKILL of the worker half-way
    .venv/bin/python bench/reminders.py --count 5000 --window 60 # a quick run

With ``--crash`` the worker is killed with SIGKILL half-way through the
window, while it sends SMS it has claimed (``--crash-in dispatch``, the
default) or while it hands reminders over (``--crash-in hand-over``), and a
new one is started at once (as systemd's Restart= does). The new worker
continues the chains of jobs at once (``maintenance.ensure_chains``); the job
the killed worker was running stays "running" until its heartbeats are
WORKER_HEARTBEAT_TIMEOUT old (60 s), then goes back to the queue; messages it
had claimed wait for the end of their lease (SMS_LEASE_SECONDS, 300 s), then
the provider is asked about their tag before any new attempt. The lateness of
a crash run includes all that; the targets that matter there are 0 lost, 0
twice. A run ends once every reminder was accepted and the outbox has nothing
pending (the messages of the killed worker's claim included), or when the
grace period after the window is over.
"""

import argparse
import bisect
import json
import math
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import PYTHON, Installation, free_port, print_machine, table, verdict, wait_for_http
from reports import CpuByRole, OthersBesidesOurDatabase

TARGET_P99 = 5.0
OFFSET_MINUTES = 60  # the reminder "une heure avant"
PASSWORD = "Banc-d-essai-2026!"
PLACES = ("Mairie de Haisnes, 1 place de la République", "CCAS, salle 2", "Maison France Services",
          "Centre médico-social, rue Jean Jaurès", "")
OTHER_BENCHMARKS = ("bench/safe_files.py",)
PERCENTILES = (("p50", 0.50), ("p99", 0.99))


# Waiting for the machine ---------------------------------------------------------


def wait_for_other_benchmarks(step: float = 30.0, patience: float = 1200.0) -> None:
    """Another benchmark on this machine would take CPU from this one: wait until it ends (20 min at most)."""
    deadline = time.monotonic() + patience
    while True:
        running = [name for name in OTHER_BENCHMARKS
                   if subprocess.run(["pgrep", "-f", name], capture_output=True).returncode == 0]
        if not running:
            return
        if time.monotonic() > deadline:
            print(f"{', '.join(running)} still running after {patience / 60:.0f} min: measuring anyway", flush=True)
            return
        print(f"Waiting for {', '.join(running)} to end…", flush=True)
        time.sleep(step)


# The set-up (this process, Django) -------------------------------------------------


@dataclass
class Expected:
    """What the provider should receive for one reminder."""

    due: float  # time.time() scale
    receiver: str
    text: str


def open_safes(count: int) -> list[tuple]:
    """``count`` beneficiaries with a safe and a verified mobile number each, through the service (only a
    verified number receives reminders)."""
    from django.utils import timezone

    from beffroi.safe.models import Safe
    from beffroi.safe.services.accounts import safe_open

    safes = []
    for i in range(count):
        phone = f"06{12_000_000 + i:08d}"
        safe = safe_open(username=f"banc.{i:04d}", password=PASSWORD, first_name=f"Personne {i}", phone=phone)
        Safe.objects.filter(pk=safe.pk).update(phone_verified_at=timezone.now())  # as if its owner typed the code
        safe.refresh_from_db()
        safes.append((safe, "+33" + phone[1:]))
    return safes


# Each beneficiary gets hundreds of reminders in ten minutes here: the daily caps meant for one town's
# beneficiaries (a few SMS a day each, a budget per organisation) would refuse most of them.
UNCAPPED = {name: "100000000" for name in (
    "SMS_DAILY_MAX_PER_NUMBER", "SMS_DAILY_MAX_PER_ACCOUNT", "SMS_DAILY_MAX_VERIFY_PER_NUMBER",
    "SMS_DAILY_BUDGET_PER_ORGANISATION", "SMS_DAILY_BUDGET_PLATFORM")}


def create_reminders(safes: list[tuple], count: int, window: float, seed: int) -> datetime:
    """``count`` appointments with one reminder each, due over ``window`` seconds from a provisional
    start a day ahead (shifted later); returns that start."""
    from django.db import transaction

    from beffroi.safe.access import Viewer
    from beffroi.safe.keys import safe_key, seal_data
    from beffroi.safe.models import Appointment, Reminder
    from beffroi.safe.services.records import clean_fields, record_save

    rng = random.Random(seed)
    base = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    offsets = sorted(rng.uniform(0, window) for _ in range(count))
    rng.shuffle(offsets)  # which safe's reminder falls due when: at random
    keys = {}
    bulk: list = []
    for i, offset in enumerate(offsets):
        safe, _phone = safes[i % len(safes)]
        starts_at = base + timedelta(seconds=offset, minutes=OFFSET_MINUTES)
        data = {"title": f"Rendez-vous n° {i}", "place": PLACES[i % len(PLACES)]}
        if i < len(safes):  # each safe's first one through the service
            record_save(viewer=Viewer(safe.owner), safe=safe, kind="appointment", data=data, starts_at=starts_at,
                        reminders=[OFFSET_MINUTES])
            continue
        if safe.pk not in keys:
            keys[safe.pk] = safe_key(safe)
        sealed = seal_data(keys[safe.pk], safe, "appointment", clean_fields("appointment", data))
        bulk.append(Appointment(safe=safe, starts_at=starts_at, data_sealed=sealed, reminder_offsets=[OFFSET_MINUTES]))
    chunk = 2000
    for start in range(0, len(bulk), chunk):
        with transaction.atomic():
            appointments = Appointment.objects.bulk_create(bulk[start : start + chunk])
            Reminder.objects.bulk_create(
                Reminder(safe_id=a.safe_id, appointment=a, due_at=a.starts_at - timedelta(minutes=OFFSET_MINUTES))
                for a in appointments
            )
    return base


def move_window(safe_ids: list[int], base: datetime, lead: float) -> datetime:
    """Shift every appointment and reminder so that the window opens ``lead`` seconds from now;
    schedule the hand-over once. Returns the window's start."""
    from django.db import transaction
    from django.db.models import F
    from django_tasks_db.models import DBTaskResult

    from beffroi.safe.models import Appointment, Reminder
    from beffroi.safe.tasks import ensure_reminders_scheduled, hand_over_reminders

    start = datetime.now(UTC) + timedelta(seconds=lead)
    delta = start - base
    with transaction.atomic():
        Appointment.objects.filter(safe_id__in=safe_ids).update(starts_at=F("starts_at") + delta)
        Reminder.objects.filter(safe_id__in=safe_ids).update(due_at=F("due_at") + delta)
        # record_save scheduled a run at the provisional start (or the demo's reminder): one at the real
        # start replaces it.
        DBTaskResult.objects.filter(task_path=hand_over_reminders.module_path, status="READY").delete()
        ensure_reminders_scheduled()
    return start


def expectations(safes: list[tuple]) -> dict[str, Expected]:
    """Tag → what the provider should receive, computed here from what was created (not by the code under test)."""
    from django.utils import timezone

    from beffroi.safe.keys import safe_key, unseal_data
    from beffroi.safe.models import Appointment, Reminder
    from beffroi.safe.services.reminders import PARIS

    phones = {safe.pk: phone for safe, phone in safes}
    reminders = Reminder.objects.filter(safe_id__in=list(phones))
    appointments = Appointment.objects.filter(safe_id__in=list(phones))
    starts = dict(appointments.values_list("pk", "starts_at"))
    expected = {}
    for pk, safe_id, appointment_id, due_at in reminders.order_by("pk").values_list(
        "pk", "safe_id", "appointment_id", "due_at"
    ):
        starts_at = starts[appointment_id]
        if starts_at - timedelta(minutes=OFFSET_MINUTES) != due_at:
            sys.exit(f"Reminder {pk}: due {due_at}, appointment at {starts_at}")
        expected[f"r{pk}"] = Expected(due_at.timestamp(), phones[safe_id], "")
    # The texts: the title's number says which place the appointment has.
    keys = {safe.pk: (safe, safe_key(safe)) for safe, _phone in safes}
    titles = {}
    for pk, safe_id, sealed in appointments.values_list("pk", "safe_id", "data_sealed"):
        safe, key = keys[safe_id]
        title = unseal_data(key, safe, "appointment", sealed)["title"]
        titles[pk] = (title, PLACES[int(title.rsplit(" ", 1)[1]) % len(PLACES)])
    for pk, appointment_id in reminders.values_list("pk", "appointment_id"):
        title, place = titles[appointment_id]
        when = timezone.localtime(starts[appointment_id], PARIS).strftime("%d/%m à %Hh%M")
        expected[f"r{pk}"].text = f"Rappel : {title} le {when}{', ' + place if place else ''}."[:300]
    return expected


def check_readable(expected: dict[str, Expected], sample: int = 20) -> None:
    """The code under test reads the bulk-created rows as it reads the service's (same text, same number)."""
    from beffroi.safe.models import Reminder
    from beffroi.safe.services.phone import safe_phone
    from beffroi.safe.services.reminders import _text

    tags = random.Random(1).sample(sorted(expected), min(sample, len(expected)))
    for reminder in Reminder.objects.filter(pk__in=[int(t[1:]) for t in tags]).select_related("safe", "appointment"):
        wanted = expected[f"r{reminder.pk}"]
        if (_text(reminder), safe_phone(reminder.safe)) != (wanted.text, wanted.receiver):
            sys.exit(f"Reminder {reminder.pk} reads {_text(reminder)!r} for {safe_phone(reminder.safe)}, "
                     f"expected {wanted.text!r} for {wanted.receiver}")


# The run ---------------------------------------------------------------------------


def fake_get(port: int, path: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_fake/{path}", timeout=120) as response:
        return json.loads(response.read())


@dataclass
class Crash:
    killed_pid: int = 0
    killed_at: float = 0.0  # time.time()
    restarted_at: float = 0.0
    in_the_middle: bool = False  # of the kind of job asked for (--crash-in)
    running: list = field(default_factory=list)  # the jobs the killed worker was running
    claimed: int = 0  # SMS it had claimed ("sending")
    accepted_before: int = 0


@dataclass
class Run:
    window_start: float = 0.0  # time.time()
    window_end: float = 0.0
    finished: float = 0.0  # the last check: everything accepted, or the grace period over
    cpu: dict = field(default_factory=dict)
    seconds: float = 0.0
    others: object = None
    crash: Crash | None = None
    workers: list = field(default_factory=list)


def start_worker(site: Installation, worker_env: dict, name: str):
    return site.start(name, [PYTHON, "manage.py", "worker", "--interval", "0.5", "--no-startup-delay"], **worker_env)


def when_running(during: str, patience: float = 10.0) -> bool:
    """Wait until the worker is in the middle of a hand-over (a hand_over_reminders job running) or of a
    dispatch (messages claimed, "sending"), so that the kill lands there; False if that did not happen
    within ``patience`` seconds (the kill happens anyway)."""
    from django_tasks_db.models import DBTaskResult

    from beffroi.notify.sms.models import SmsMessage
    from beffroi.safe.tasks import hand_over_reminders

    if during == "dispatch":
        busy = SmsMessage.objects.filter(status="sending")
    else:
        busy = DBTaskResult.objects.filter(task_path=hand_over_reminders.module_path, status="RUNNING")
    deadline = time.monotonic() + patience
    while not busy.exists():
        if time.monotonic() > deadline:
            return False
    return True


def crash_worker(site: Installation, worker, worker_env: dict, fake_port: int, during: str) -> tuple[Crash, object]:
    """SIGKILL the worker in the middle of a job; start another at once; note what the killed one was doing."""
    from django.db import connections
    from django_tasks_db.models import DBTaskResult

    from beffroi.notify.sms.models import SmsMessage

    crash = Crash(killed_pid=worker.pid)
    crash.in_the_middle = when_running(during)
    crash.killed_at = time.time()
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    crash.running = [
        path.rsplit(".", 1)[1] for path in DBTaskResult.objects.filter(status="RUNNING").values_list("task_path", flat=True)
    ]
    crash.claimed = SmsMessage.objects.filter(status="sending").count()
    new = start_worker(site, worker_env, "worker-after-crash")
    crash.restarted_at = time.time()
    crash.accepted_before = fake_get(fake_port, "stats")["accepted"]
    connections.close_all()
    return crash, new


def measure(site: Installation, args, worker_env: dict, fake, fake_port: int, window_start: float,
            dues: list[float]) -> Run:
    count = len(dues)
    run = Run(window_start=window_start, window_end=window_start + args.window)
    workers = [start_worker(site, worker_env, "worker")]
    run.workers = workers

    def roles() -> dict[int, str]:
        pids = {os.getpid(): "benchmark", fake.pid: "fake OVH"}
        pids.update({w.pid: "worker" for w in workers if w.poll() is None})
        return pids

    time.sleep(max(0.0, window_start - time.time()))
    cpu = CpuByRole(roles, site.database)
    cpu.start()
    crash_at = window_start + args.crash_at if args.crash else None
    grace = args.grace
    last_print = 0.0
    with OthersBesidesOurDatabase(cpu) as others:
        started = time.monotonic()
        while True:
            now = time.time()
            if crash_at is not None and now >= crash_at and run.crash is None:
                run.crash, new = crash_worker(site, workers[0], worker_env, fake_port, args.crash_in)
                workers.append(new)
            stats = fake_get(fake_port, "stats")
            # Done once every tag is accepted and the outbox has nothing pending: a message claimed by a
            # killed worker may already be at the provider, and is looked up there once its lease ends.
            done = stats["tags"] >= count and outbox_settled()
            if now - last_print >= args.progress or done:
                print(f"  {now - window_start:6.0f} s: {bisect.bisect_right(dues, now):,} due, {stats['accepted']:,} "
                      f"accepted by the provider ({stats['duplicate_tags']} tags twice)", flush=True)
                last_print = now
            if done:
                break
            if now > run.window_end + grace:
                print(f"  grace period over ({grace:.0f} s after the window)", flush=True)
                break
            time.sleep(0.5)
        run.finished = time.time()
        run.seconds = time.monotonic() - started
    run.cpu = cpu.stop()
    run.others = others
    return run


def outbox_settled() -> bool:
    """No SMS queued or being sent (claimed) any more."""
    from beffroi.notify.sms.models import SmsMessage

    return not SmsMessage.objects.filter(status__in=SmsMessage.PENDING).exists()


# Checks and output -----------------------------------------------------------------


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def seconds_text(value: float) -> str:
    return f"{value:.2f} s" if abs(value) < 100 else f"{value:.0f} s"


def spread(values: list[float]) -> str:
    if not values:
        return "none"
    return " / ".join(seconds_text(v) for v in (values[0], *(percentile(values, f) for _, f in PERCENTILES), values[-1]))


@dataclass
class Outcome:
    accepted: int = 0  # messages the provider accepted
    first_accepted: dict = field(default_factory=dict)  # tag → time
    duplicates: int = 0  # tags accepted more than once
    extra_copies: int = 0
    unknown: int = 0  # accepted tags of no reminder
    lost: int = 0
    wrong: int = 0  # wrong number or text
    lateness: list = field(default_factory=list)  # sorted
    hand_over: list = field(default_factory=list)  # handed_over_at - due, sorted
    late_over_target: int = 0


def check(messages: list[dict], expected: dict[str, Expected], safe_ids: list[int]) -> Outcome:
    from beffroi.safe.models import Reminder

    outcome = Outcome(accepted=len(messages))
    copies = Counter(m["tag"] for m in messages)
    outcome.duplicates = sum(1 for n in copies.values() if n > 1)
    outcome.extra_copies = sum(n - 1 for n in copies.values() if n > 1)
    for message in sorted(messages, key=lambda m: m["at"]):
        tag = message["tag"]
        wanted = expected.get(tag)
        if wanted is None:
            outcome.unknown += 1
            continue
        if tag in outcome.first_accepted:
            continue
        outcome.first_accepted[tag] = message["at"]
        if (message["receiver"], message["message"]) != (wanted.receiver, wanted.text):
            outcome.wrong += 1
        outcome.lateness.append(message["at"] - wanted.due)
    outcome.lost = sum(1 for tag in expected if tag not in outcome.first_accepted)
    outcome.lateness.sort()
    outcome.late_over_target = sum(1 for v in outcome.lateness if v >= TARGET_P99)
    outcome.hand_over = sorted(
        (handed - due).total_seconds()
        for due, handed in Reminder.objects.filter(safe_id__in=safe_ids).exclude(handed_over_at=None).values_list(
            "due_at", "handed_over_at")
    )
    return outcome


def database_counts(safe_ids: list[int]) -> list[list[str]]:
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from beffroi.notify.sms.models import SmsMessage
    from beffroi.notify.sms.tasks import dispatch_sms
    from beffroi.safe.models import Reminder
    from beffroi.safe.tasks import hand_over_reminders

    def counts(queryset, *fields) -> str:
        rows = queryset.values(*fields).annotate(n=Count("pk")).order_by(*fields)
        return ", ".join(f"{' '.join(str(r[f]) for f in fields)} {r['n']:,}" for r in rows) or "none"

    rows = [
        ["the benchmark's reminders by status", counts(Reminder.objects.filter(safe_id__in=safe_ids), "status")],
        ["SMS outbox by status", counts(SmsMessage.objects, "status")],
        ["SMS by attempts (claims)", counts(SmsMessage.objects, "attempts")],
    ]
    for task in (hand_over_reminders, dispatch_sms):
        rows.append([f"{task.name} jobs by status", counts(DBTaskResult.objects.filter(task_path=task.module_path),
                                                            "status")])
    return rows


def report(args, site: Installation, run: Run, outcome: Outcome, count: int, beneficiaries: int,
           settings_used: dict, db_rows: list) -> bool:
    database = "PostgreSQL" if args.postgres else "SQLite (WAL)"
    cpu = ", ".join(f"{role} {seconds / run.seconds:.0%}" for role, seconds in sorted(run.cpu.items(), key=lambda i: -i[1]))
    rows = [
        ["database", database],
        ["reminders", f"{count:,} (one per appointment) of {beneficiaries} beneficiaries, due uniformly at random "
                      f"over {args.window:g} s ({count / args.window:.0f}/s on average)"],
        ["worker", "manage.py worker --interval 0.5 (as manage.py serve starts it), SMS_BACKEND=ovh; "
                   + ", ".join(f"{k} {v}" for k, v in settings_used.items())],
        ["provider", f"fake OVH API in its own process (signatures checked), latency {args.latency * 1000:.0f} ms"],
        ["run", f"{run.seconds:.0f} s from the window's start to the last check "
                f"(window {args.window:g} s, then until all were accepted and the outbox had nothing pending, "
                f"or {args.grace:.0f} s more)"],
        ["CPU during the run (of one core)", cpu],
        ["other processes during the run", run.others.describe()],
    ]
    if run.crash:
        crash = run.crash
        running = ", ".join(crash.running) or "no job"
        middle = "" if crash.in_the_middle else f" (waited 10 s in vain for a {args.crash_in} in progress)"
        rows.insert(5, ["crash", f"SIGKILL of worker {crash.killed_pid} at {crash.killed_at - run.window_start:.1f} s "
                                 f"({crash.accepted_before:,} accepted by then), running: {running}{middle}; "
                                 f"{crash.claimed} SMS claimed by it (\"sending\"); a new worker started at once "
                                 f"(as systemd's Restart= does)"])
    print(table(["run", ""], rows))
    print()
    print(table(["at the end", ""], db_rows))
    print()
    lateness = outcome.lateness
    p99 = percentile(lateness, 0.99) if lateness else float("inf")
    ok_counts = outcome.lost == 0 and outcome.duplicates == 0 and outcome.unknown == 0 and outcome.wrong == 0
    rows = [
        ["reminders accepted by the provider", f"{len(outcome.first_accepted):,} of {count:,}", "all",
         verdict(len(outcome.first_accepted) == count)],
        ["messages accepted (all copies)", f"{outcome.accepted:,}", f"{count:,}", verdict(outcome.accepted == count)],
        ["tags accepted twice or more (extra copies)", f"{outcome.duplicates} ({outcome.extra_copies})", "0",
         verdict(outcome.duplicates == 0)],
        ["lost (never accepted by the end)", f"{outcome.lost:,}", "0", verdict(outcome.lost == 0)],
        ["wrong number or text / unknown tag", f"{outcome.wrong} / {outcome.unknown}", "0 / 0",
         verdict(outcome.wrong == 0 and outcome.unknown == 0)],
    ]
    if lateness:
        rows += [
            ["lateness: min", seconds_text(lateness[0]), "", ""],
            ["p50", seconds_text(percentile(lateness, 0.50)), "", ""],
            ["p99", seconds_text(p99), f"< {TARGET_P99:g} s" + (" (crash run)" if args.crash else ""),
             verdict(p99 < TARGET_P99 and ok_counts)],
            ["max", seconds_text(lateness[-1]), "", ""],
            [f"reminders {TARGET_P99:g} s late or more", f"{outcome.late_over_target:,} "
             f"({outcome.late_over_target / len(lateness):.2%})", "", ""],
            ["due → handed over to the outbox (min/p50/p99/max)", spread(outcome.hand_over), "", ""],
        ]
    print(table([f"reminders, {database}", "measured", "target", "verdict"], rows))
    if run.crash:
        print(f"\nLateness in a crash run includes the restart, the heartbeat timeout "
              f"(WORKER_HEARTBEAT_TIMEOUT {settings_used['WORKER_HEARTBEAT_TIMEOUT']} s) before the killed worker's "
              f"job goes back to the queue, and the lease (SMS_LEASE_SECONDS {settings_used['SMS_LEASE_SECONDS']} s) "
              "of the messages it had claimed.")
    return ok_counts and (args.crash or p99 < TARGET_P99)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--count", type=int, default=100_000, help="reminders (default 100,000)")
    parser.add_argument("--window", type=float, default=600.0, help="seconds over which they fall due (default 600)")
    parser.add_argument("--beneficiaries", type=int, default=300, help="safes with a mobile number (default 300)")
    parser.add_argument("--lead", type=float, default=90.0,
                        help="seconds from the end of the set-up to the window's start (default 90)")
    parser.add_argument("--grace", type=float, default=None,
                        help="seconds after the window for the last ones (default 60; with --crash, "
                             "SMS_LEASE_SECONDS + WORKER_HEARTBEAT_TIMEOUT + 60)")
    parser.add_argument("--crash", action="store_true", help="SIGKILL the worker in the middle of the window")
    parser.add_argument("--crash-at", type=float, default=None, help="seconds into the window (default: half-way)")
    parser.add_argument("--crash-in", choices=("dispatch", "hand-over"), default="dispatch",
                        help="kill the worker while it sends claimed SMS (default) or while it hands reminders over")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds the fake provider takes to answer a send")
    parser.add_argument("--progress", type=float, default=30.0, help="seconds between progress lines")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.crash_at is None:
        args.crash_at = args.window / 2
    return args


def main() -> None:
    args = parse_args()
    # Stopped by SIGTERM (kill, timeout), the run still stops its worker and fake provider and removes
    # its installation (Installation.__exit__).
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    wait_for_other_benchmarks()
    print_machine()
    with Installation("reminders", postgres=args.postgres, **UNCAPPED) as site:
        site.load_demo()
        site.use_here()
        from django.conf import settings
        from django.db import connections

        settings_used = {name: getattr(settings, name) for name in (
            "SMS_CONCURRENCY", "SMS_TIMEOUT_SECONDS", "SMS_LEASE_SECONDS", "WORKER_HEARTBEAT_TIMEOUT")}
        if args.grace is None:
            args.grace = 60.0 + (settings.SMS_LEASE_SECONDS + settings.WORKER_HEARTBEAT_TIMEOUT if args.crash else 0)
        began = time.monotonic()
        safes = open_safes(args.beneficiaries)
        print(f"Set-up: {len(safes)} safes opened in {time.monotonic() - began:.0f} s", flush=True)
        began = time.monotonic()
        base = create_reminders(safes, args.count, args.window, args.seed)
        print(f"Set-up: {args.count:,} appointments and reminders in {time.monotonic() - began:.0f} s", flush=True)

        fake_port = free_port()
        fake = site.start("fake-ovh", [PYTHON, "-m", "fakes.ovh_sms", "--port", str(fake_port),
                                       "--latency", str(args.latency)])
        wait_for_http(f"http://127.0.0.1:{fake_port}/_fake/stats")
        worker_env = {
            "SMS_BACKEND": "ovh",
            "SMS_OVH_ENDPOINT": f"http://127.0.0.1:{fake_port}/1.0",
            "SMS_OVH_APPLICATION_KEY": "fake-application-key",
            "SMS_OVH_APPLICATION_SECRET": "fake-application-secret",
            "SMS_OVH_CONSUMER_KEY": "fake-consumer-key",
            "SMS_OVH_SERVICE_NAME": "sms-fake-1",
            "SAFE_KEYRING_PATH": str(settings.SAFE_KEYRING_PATH),
        }
        wait_for_other_benchmarks()
        window_start = move_window([safe.pk for safe, _phone in safes], base, args.lead).timestamp()
        expected = expectations(safes)
        check_readable(expected)
        if len(expected) != args.count:
            sys.exit(f"{len(expected)} reminders created, {args.count} asked for")
        print(f"Set-up done: the window opens in {window_start - time.time():.0f} s", flush=True)
        connections.close_all()

        dues = sorted(e.due for e in expected.values())
        run = measure(site, args, worker_env, fake, fake_port, window_start, dues)
        stats = fake_get(fake_port, "stats")
        messages = fake_get(fake_port, "messages")
        safe_ids = [safe.pk for safe, _phone in safes]
        outcome = check(messages, expected, safe_ids)
        db_rows = database_counts(safe_ids)
        connections.close_all()
        db_rows.append(["provider: sends / tag look-ups (GET …/outgoing?tag=)",
                        f"{stats['accepted']:,} / {stats['lookups']:,}"])
        ok = report(args, site, run, outcome, args.count, len(safes), settings_used, db_rows)
        if not ok:
            print("\nLast lines of the logs:")
            for log in sorted(Path(site.var_dir).glob("*.log")):
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}")
            sys.exit(1)


if __name__ == "__main__":
    main()
