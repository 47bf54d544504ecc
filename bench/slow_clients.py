"""Benchmark (h): slow phones do not hold up the site.

50 clients upload and 50 download at 20 KB/s (a weak mobile connection),
over and over, while a load generator reads ordinary pages at a fixed rate:

- uploads: safe documents (the page's uploader: the file as the body, 1 MB)
  and reports through the real form (multipart, with a 200 KB photo);
- downloads: a safe document (2 MB) and report photos (the stored original);
- pages, open-loop at ``--rate`` requests/s, each on its own connection:
  the home page and the news list (page cache), the report form and the
  public reports (rendered by Django), the beneficiary's safe (signed in).

The server is one uvicorn process as ``manage.py serve`` starts it, run
twice: with the default WEB_THREADS (4), then with WEB_THREADS=2. Targets:
p99 of the pages under 100 ms, no request failed (every page 200, every
transfer that finished answered with success).

    .venv/bin/python bench/slow_clients.py
    .venv/bin/python bench/slow_clients.py --duration 60 --rate 20
"""

import argparse
import asyncio
import io
import multiprocessing
import random
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from common import Installation, OtherLoad, free_port, print_machine, stop, table, verdict

SPEED = 20_000  # bytes per second, each slow client
TICK = 0.1  # seconds between pieces
UPLOAD_MB = 1
DOWNLOAD_MB = 2
PHOTO_BYTES = 200_000
TARGET_P99_MS = 100.0
PAGES = ["/", "/actualites/", "/signaler/", "/signalements/", "/coffre/"]


# Preparation (this process, Django) ------------------------------------------------------------


@dataclass
class Fixture:
    session: str  # the beneficiary's session cookie value
    document_id: str  # a document to download
    photos: list[str]  # paths of report photos to download (follow links)
    categories: list  # bench.reports.Choice


def noise_jpeg(size: int, seed: int) -> bytes:
    """A JPEG of about ``size`` bytes (noise does not compress)."""
    from PIL import Image

    rng = random.Random(seed)
    side = 200
    while True:
        image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        if buffer.tell() >= size:
            return buffer.getvalue()
        side += 40


def prepare(site: Installation, photos: int) -> Fixture:
    from django.db import connections
    from reports import form_categories
    from safe_files import beneficiary_session

    from beffroi.reports.models import ReportPhoto
    from beffroi.reports.selectors import follow_for_token
    from beffroi.safe.access import Viewer
    from beffroi.safe.services.documents import document_store
    from beffroi.safe.uploads import _Sealer

    safe, session = beneficiary_session()
    sealer = _Sealer(safe.pk)
    sealer.add(b"%PDF-1.4\n" + random.Random(1).randbytes(DOWNLOAD_MB * 1024 * 1024 - 9))
    upload = sealer.finish("relevé.pdf")
    try:
        document = document_store(viewer=Viewer(safe.owner), safe=safe, upload=upload, name="Relevé", folder_id=None,
                                  expires_on=None)
    finally:
        upload.close()
    categories = form_categories()
    connections.close_all()
    # Reports with a photo, filed through the real form, for their follow links.
    port = free_port()
    server = site.start_web(port, name="prepare")
    try:
        tokens = asyncio.run(_file_reports(port, categories, photos))
    finally:
        stop(server)
    paths = []
    for token in tokens:
        access = follow_for_token(token)
        photo = ReportPhoto.objects.filter(report=access.report).first()
        paths.append(f"/suivi/{token}/photo/{photo.pk}/0/")
    connections.close_all()
    return Fixture(session, str(document.pk), paths, categories)


async def _file_reports(port: int, categories, count: int) -> list[str]:
    tokens = []
    for index in range(count):
        client = SlowClient(port, speed=None)
        outcome = await client.report(categories[index % len(categories)], noise_jpeg(PHOTO_BYTES, index), index)
        match = re.match(r"/suivi/([^/]+)/", outcome.location)
        if outcome.status != 302 or not match:
            sys.exit(f"FAIL: a report with a photo could not be filed ({outcome.status} {outcome.error}).")
        tokens.append(match.group(1))
    return tokens


# HTTP on asyncio streams, paced -----------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    status: int = 0
    location: str = ""
    error: str = ""
    finished: bool = False
    cookies: list = field(default_factory=list)
    body: bytes = b""


async def read_response(reader, outcome: Outcome, pace: float | None) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    outcome.status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "content-length":
            length = int(value)
        elif name == "location":
            outcome.location = value
        elif name == "set-cookie":
            outcome.cookies.append(value.split(";")[0])
    body = bytearray()
    while len(body) < length:
        piece = await reader.read(min(int(SPEED * TICK), length - len(body)) if pace else length - len(body))
        if not piece:
            raise ConnectionError("closed before the end of the body")
        body += piece
        if pace:
            await asyncio.sleep(pace)
    outcome.body = bytes(body)


class SlowClient:
    """One phone: ``speed`` bytes/s each way (None: as fast as it can)."""

    def __init__(self, port: int, speed: int | None = SPEED, cookies: tuple[str, ...] = ()):
        self.port = port
        self.speed = speed
        self.cookies = list(cookies)

    async def _open(self):
        sock = socket.socket()
        if self.speed:  # a small window: the server's sends wait for this reader, as on a slow link
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.port))
        return await asyncio.open_connection(sock=sock)

    def _head(self, method: str, path: str, *extra: str) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Connection: close", *extra]
        if self.cookies:
            lines.append(f"Cookie: {'; '.join(self.cookies)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _send_paced(self, writer, data: bytes) -> None:
        if not self.speed:
            writer.write(data)
            await writer.drain()
            return
        step = int(self.speed * TICK)
        for start in range(0, len(data), step):
            writer.write(data[start:start + step])
            await writer.drain()
            await asyncio.sleep(TICK)

    async def exchange(self, kind: str, head: bytes, body: bytes = b"", slow_answer: bool = False) -> Outcome:
        outcome = Outcome(kind)
        writer = None
        try:
            reader, writer = await self._open()
            writer.write(head)
            await self._send_paced(writer, body)
            await read_response(reader, outcome, TICK if slow_answer and self.speed else None)
            outcome.finished = True
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            outcome.error = type(exc).__name__
        finally:
            if writer is not None:
                writer.close()
        return outcome

    async def get(self, path: str, *, slow: bool = False) -> Outcome:
        return await self.exchange("download", self._head("GET", path), slow_answer=slow)

    async def csrf(self, path: str) -> str:
        page = await self.get(path)
        self.cookies += [c for c in page.cookies if c.startswith("csrftoken=")]
        return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1).decode()

    async def safe_upload(self, data: bytes, index: int) -> Outcome:
        token = await self.csrf("/coffre/")
        details = urlencode({"name": f"Relevé {index}", "folder": "", "expires_on": "", "filename": f"r{index}.pdf"})
        head = self._head(
            "POST", "/coffre/documents/envoyer/", "Content-Type: application/octet-stream",
            f"Content-Length: {len(data)}", "Accept: application/json", f"X-CSRFToken: {token}",
            f"X-Document: {details}", f"Origin: http://127.0.0.1:{self.port}",
        )
        return await self.exchange("safe upload", head, data)

    async def report(self, choice, photo: bytes, index: int) -> Outcome:
        from reports import multipart as form_fields  # the fields of bench/reports.py, without the photo

        token = await self.csrf("/signaler/")
        boundary = f"----BancLent{index:08d}"
        fields = [("csrfmiddlewaretoken", token), ("category", str(choice.category)), *choice.answers,
                  ("description", f"Signalement lent n° {index} : constaté ce matin, merci."),
                  ("latitude", "50.5063"), ("longitude", "2.7950"), ("address", "Rue de la Gare")]
        envelope = form_fields(fields, boundary)
        photo_part = (f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="photo.jpg"\r\n'
                      "Content-Type: image/jpeg\r\n\r\n").encode() + photo + b"\r\n"
        closing = f"--{boundary}--\r\n".encode()
        body = envelope[: -len(closing)].rsplit(f"--{boundary}\r\n".encode(), 1)[0] + photo_part + closing
        head = self._head(
            "POST", "/signaler/", f"Content-Type: multipart/form-data; boundary={boundary}",
            f"Content-Length: {len(body)}", f"Origin: http://127.0.0.1:{self.port}",
            f"Referer: http://127.0.0.1:{self.port}/signaler/",
        )
        return await self.exchange("report upload", head, body)


# The slow clients (a child process) ------------------------------------------------------------


async def _slow_clients(port: int, fixture: Fixture, clients: int, until: float, results) -> None:
    photo = noise_jpeg(PHOTO_BYTES, 99)
    document = b"%PDF-1.4\n" + random.Random(2).randbytes(UPLOAD_MB * 1024 * 1024 - 9)
    cookie = f"sessionid={fixture.session}"

    async def loop(role: int, index: int) -> None:
        n = 0
        while time.monotonic() < until:
            n += 1
            if role == 0:
                outcome = await SlowClient(port, cookies=(cookie,)).safe_upload(document, index * 1000 + n)
            elif role == 1:
                choice = fixture.categories[(index + n) % len(fixture.categories)]
                outcome = await SlowClient(port).report(choice, photo, index * 1000 + n)
            elif role == 2:
                outcome = await SlowClient(port, cookies=(cookie,)).get(
                    f"/coffre/documents/{fixture.document_id}/fichier/", slow=True)
                outcome.kind = "safe download"
            else:
                outcome = await SlowClient(port).get(fixture.photos[(index + n) % len(fixture.photos)], slow=True)
                outcome.kind = "photo download"
            if time.monotonic() < until:  # a transfer cut by the end of the run is neither success nor failure
                results.put((outcome.kind, outcome.finished, outcome.status, outcome.error))

    quarter = clients // 4
    await asyncio.gather(*(loop(role, i) for role in range(4) for i in range(quarter)))


def slow_clients_process(port: int, fixture: Fixture, clients: int, until: float, results) -> None:
    asyncio.run(_slow_clients(port, fixture, clients, until, results))


# The load generator (this process) ---------------------------------------------------------------


async def _pages(port: int, session: str, rate: float, duration: float) -> list[tuple[str, float, int, str]]:
    results = []

    async def one(path: str, scheduled: float) -> None:
        cookies = (f"sessionid={session}",) if path == "/coffre/" else ()
        outcome = await SlowClient(port, speed=None, cookies=cookies).get(path)
        results.append((path, time.monotonic() - scheduled, outcome.status, outcome.error))

    tasks, start = [], time.monotonic()
    for i in range(int(rate * duration)):
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
        tasks.append(asyncio.ensure_future(one(PAGES[i % len(PAGES)], scheduled)))
    await asyncio.gather(*tasks)
    return results


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(site: Installation, fixture: Fixture, threads: int, args) -> tuple[list, dict, float]:
    port = free_port()
    server = site.start_web(port, name=f"web-{threads}", WEB_THREADS=str(threads))
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    until = time.monotonic() + args.ramp + args.duration
    child = context.Process(target=slow_clients_process, args=(port, fixture, args.clients, until, results))
    child.start()
    try:
        time.sleep(args.ramp)  # every slow client has started its first transfer
        with OtherLoad() as others:
            pages = asyncio.run(_pages(port, fixture.session, args.rate, args.duration))
        child.join(timeout=args.duration + 120)
    finally:
        if child.is_alive():
            child.kill()
        stop(server)
    transfers: dict[str, list] = {}
    while not results.empty():
        kind, finished, status, error = results.get()
        transfers.setdefault(kind, []).append((finished, status, error))
    return pages, transfers, others.share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of measurement (default 60)")
    parser.add_argument("--ramp", type=float, default=10, help="seconds the slow clients run first (default 10)")
    parser.add_argument("--rate", type=float, default=20, help="page requests per second (default 20)")
    parser.add_argument("--clients", type=int, default=100, help="slow clients, a quarter of each kind (default 100)")
    parser.add_argument("--threads", default="4,2", help="WEB_THREADS of each run (default 4,2)")
    args = parser.parse_args()

    print_machine()
    rows, transfer_rows, failed = [], [], False
    # One beneficiary uploads all along, and one address files every report: no quota or hourly limit may stop them.
    with Installation("slow", REPORTS_PER_HOUR="1000000", REPORT_MESSAGES_PER_HOUR="1000000",
                      SAFE_UNVERIFIED_QUOTA_MB="51200", SAFE_QUOTA_MB="51200") as site:
        site.load_demo()
        site.use_here()
        fixture = prepare(site, photos=10)
        for threads in (int(t) for t in args.threads.split(",")):
            pages, transfers, others = run(site, fixture, threads, args)
            latencies = [latency * 1000 for _path, latency, _status, _error in pages]
            bad = [(path, status, error) for path, _latency, status, error in pages if status != 200 or error]
            p99 = percentile(latencies, 0.99)
            ok = p99 < TARGET_P99_MS and not bad
            for kind, outcomes in sorted(transfers.items()):
                wrong = [o for o in outcomes if not o[0] or o[1] >= 400]
                ok &= not wrong
                transfer_rows.append([threads, kind, len(outcomes), len(wrong),
                                      ", ".join(sorted({f"{s} {e}".strip() for _f, s, e in wrong})) or "none"])
            failed |= not ok
            by_path = {path: [lat * 1000 for p, lat, _s, _e in pages if p == path] for path in PAGES}
            rows.append([threads, len(pages), f"{percentile(latencies, 0.5):.1f}", f"{p99:.1f}",
                         f"{max(latencies):.1f}", " ".join(f"{p}:{percentile(v, 0.99):.0f}" for p, v in by_path.items()),
                         len(bad), verdict(ok), f"{others:.0%}"])
    print(f"slow clients: {args.clients} at {SPEED // 1000} KB/s each (a quarter each: safe uploads of {UPLOAD_MB} MB, "
          f"reports with a {PHOTO_BYTES // 1000} KB photo, safe downloads of {DOWNLOAD_MB} MB, photo downloads); "
          f"pages at {args.rate:g}/s for {args.duration:g} s after {args.ramp:g} s\n")
    print(table(["WEB_THREADS", "pages", "p50 ms", "p99 ms", "max ms", "p99 by page (ms)", "failed", "verdict",
                 "other load"], rows))
    print()
    print(table(["WEB_THREADS", "slow transfers finished", "count", "failed", "failures"], transfer_rows))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
