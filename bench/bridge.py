"""Benchmark (g): pages rendered by Django, through the edge and through the
standard doors, side by side in one run.

Every server runs the same project on the same installation, with as many
processes (one per core by default) and no page cache, so that Django renders
every request:

- the edge: uvicorn, the ASGI edge and its WSGI bridge (``manage.py serve``);
- gunicorn with sync workers (the plain WSGI reference);
- uvicorn + a2wsgi (Django's WSGI handler on a2wsgi's thread pool);
- uvicorn + Django's own ASGI handler.

wrk loads each page of each server in turn (``wrk -t2 -c64 -d10s --latency``,
after a warm-up). The target: the edge at least as fast as gunicorn's sync
workers on every page (req/s).

    .venv/bin/python bench/bridge.py
    .venv/bin/python bench/bridge.py --rounds 3    # on a shared machine: best of 3
"""

import argparse
import sys

from common import PYTHON, Installation, free_port, print_machine, stop, table, verdict, wait_for_http
from feeds import CONNECTIONS, WRK_THREADS, Load, measure, versions

PAGES = {"home page": "/", "report form": "/signaler/", "JSON feed": "/api/v1/posts"}


def _uvicorn(app: str, port: int, workers: int, *extra: str) -> list[str]:
    return [
        PYTHON, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--backlog", "2048", "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--no-server-header",
        *extra,
    ]


SERVERS = {
    "edge (bridge)": lambda port, workers: _uvicorn("beffroi.asgi:application", port, workers, "--lifespan", "on"),
    "gunicorn sync": lambda port, workers: [
        PYTHON, "-m", "gunicorn", "beffroi.wsgi:application", "--workers", str(workers), "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}", "--backlog", "2048",
    ],
    "uvicorn + a2wsgi": lambda port, workers: _uvicorn(
        "asgi_variants:a2wsgi_app", port, workers, "--app-dir", "bench", "--lifespan", "off"),
    "uvicorn + Django ASGI": lambda port, workers: _uvicorn(
        "asgi_variants:django_asgi_app", port, workers, "--app-dir", "bench", "--lifespan", "off"),
}
REFERENCE = "gunicorn sync"


def run_server(site: Installation, label: str, args) -> dict[str, Load]:
    port = free_port()
    process = site.start(label.split()[0], SERVERS[label](port, args.workers), PAGE_CACHE_ENABLED="0")
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", timeout=60)
        return {name: measure(f"http://127.0.0.1:{port}{path}", args) for name, path in PAGES.items()}
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up before each run (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="processes of every server (default 2: one per core)")
    parser.add_argument("--rounds", type=int, default=1, help="keep the best of R rounds (default 1)")
    args = parser.parse_args()

    print_machine()
    print(table(["tool", "version"], versions()))
    print(f"\nload: wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{args.duration}s --latency, {args.workers} processes each, "
          "page cache off\n")
    best: dict[tuple[str, str], Load] = {}
    with Installation("bridge") as site:
        site.load_demo()
        for _ in range(args.rounds):
            for label in SERVERS:
                for page, load in run_server(site, label, args).items():
                    kept = best.get((label, page))
                    if kept is None or load.requests_per_second > kept.requests_per_second:
                        best[(label, page)] = load
    rows, failed = [], False
    for page in PAGES:
        reference = best[(REFERENCE, page)].requests_per_second
        for label in SERVERS:
            load = best[(label, page)]
            ratio = load.requests_per_second / reference
            ok = label != "edge (bridge)" or ratio >= 1.0
            failed |= not ok
            rows.append([page, label, f"{load.requests_per_second:,.0f}", f"{load.p50_ms:.1f}", f"{load.p99_ms:.1f}",
                         f"{ratio:.2f}", verdict(ok) if label == "edge (bridge)" else "", load.errors or "none",
                         f"{load.others:.0%}"])
    print(table(["page", "server", "req/s", "p50 ms", "p99 ms", f"× {REFERENCE}", "target ≥ 1", "errors",
                 "other load"], rows))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
