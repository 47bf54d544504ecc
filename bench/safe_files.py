"""Benchmark (a) of the safe: a large file uploaded and downloaded through the HTTP endpoints.

A beneficiary (created for the run, signed in through a session as the login
page leaves it) uploads a file of random bytes (512 MB by default, starting
like a PDF so that the safe accepts it) to POST /coffre/documents/envoyer/
exactly as the page's uploader does: the file as the request's body, its
details URL-encoded in the X-Document header, the CSRF token in X-CSRFToken,
with ``Accept: application/json`` (``--multipart``: as the form without
scripts does, multipart to POST /coffre/documents/ajouter/). The client sends
it from disk with sendfile (it never holds the file), so the figure is the
server's: the view reads the body in 1 MiB pieces and encrypts each as it
comes (receive_body; multipart: EncryptingUploadHandler, fed by Django's
parser), then the ciphertext is stored. Then the client downloads it from GET /coffre/documents/<uuid>/fichier/
to disk (over a file it laid out before the clock starts: its own disk costs
are not the server's); the server first verifies the whole ciphertext, then
decrypts it as it streams. The run fails unless the SHA-256 of what came back is the
original's, the stored file is the expected ciphertext (the right size, and the
plaintext's first 4 KB nowhere in it), and the server left no temporary file.

In the same run, in this process, on one core and from memory, the benchmark
measures what the cryptography alone costs over the same number of bytes:
the project's StreamEncryptor (SHA-256 and AES-256-GCM in one pass, what the
upload does) and decrypt_stream over the stored ciphertext (what the download
does, twice: once to verify, once to send), and for reference AES-256-GCM
alone and SHA-256 alone. Throughput over HTTP ÷ that rate says how much of the
time goes to anything but cryptography. It also prints how fast this machine
writes a new file of that size, which the upload does once (the ciphertext).

The server's memory (uvicorn and any child, RSS from /proc every 50 ms, and the
kernel's high-water mark, reset before each transfer) must stay under 150 MB
whatever the file size: run it with two sizes to see that it does not grow.

    .venv/bin/python bench/safe_files.py                   # 512 MB, SQLite
    .venv/bin/python bench/safe_files.py --size-mb 64      # a quick check
    .venv/bin/python bench/safe_files.py --postgres
    .venv/bin/python bench/safe_files.py --rounds 3        # on a shared machine: best of 3
    .venv/bin/python bench/safe_files.py --multipart       # the form without scripts

MB here are MiB (2^20 bytes), as SAFE_MAX_DOCUMENT_MB counts them.
"""

import argparse
import hashlib
import http.client
import io
import mmap
import os
import random
import re
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from common import CLOCK_TICKS, Installation, OtherLoad, cpu_seconds, free_port, print_machine, table, verdict

MB = 1 << 20
TARGET_RATIO = 0.25
TARGET_PEAK_MB = 150
SAMPLE_EVERY = 0.05
PIECE = MB  # what the file is written, sent, read and measured in
HEAD_CHECK = 4096  # the plaintext's first bytes, looked for in the stored ciphertext
PDF_START = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"  # the safe takes PDF, JPEG, PNG and HEIC, recognised by their first bytes
WARM_UP_BYTES = 3 * MB
IN_PROCESS_REPEATS = 3  # best of: other work only slows a measurement down
USERNAME = "banc.coffre"


# The file --------------------------------------------------------------------------------


def make_file(path: Path, size: int, seed: int) -> str:
    """``size`` random bytes starting like a PDF, written piece by piece; returns their SHA-256."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        written = 0
        while written < size:
            piece = rng.randbytes(min(PIECE, size - written))
            if not written:
                piece = PDF_START + piece[len(PDF_START):]
            out.write(piece)
            digest.update(piece)
            written += len(piece)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while piece := source.read(PIECE):
            digest.update(piece)
    return digest.hexdigest()


# The beneficiary (this process, Django) -----------------------------------------------------


def beneficiary_session():
    """A beneficiary with a safe, signed in with their password (they have no second factor)."""
    from importlib import import_module

    from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from beffroi.safe.services.accounts import safe_open

    safe = safe_open(username=USERNAME, password=secrets.token_urlsafe(18), first_name="Banc")
    user = safe.owner
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [{"method": "password", "at": time.time(), "username": user.username}]
    session.create()
    return safe, session.session_key


def document_ids(safe) -> set:
    from django.db import connections

    from beffroi.safe.models import Document

    ids = set(Document.objects.filter(safe=safe).values_list("pk", flat=True))
    connections.close_all()  # SQLite: hold nothing while the server writes
    return ids


def stored_document(safe, before: set):
    from django.db import connections

    from beffroi.safe.models import Document

    documents = list(Document.objects.filter(safe=safe).exclude(pk__in=before).select_related("safe"))
    connections.close_all()
    if len(documents) != 1:
        sys.exit(f"FAIL: expected one new document after the upload, found {len(documents)}.")
    return documents[0]


# HTTP (a raw socket and http.client's response parser: the client does as little as it can) --


class Client:
    def __init__(self, port: int, session_cookie: str):
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.cookies = [session_cookie]

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def head(self, method: str, path: str, *extra: str) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", f"Cookie: {'; '.join(self.cookies)}",
                 "Connection: close", *extra]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def csrf_token(self, csrf_cookie_name: str) -> str:
        """Load the safe's page as a browser does: the CSRF cookie, and the form's token."""
        with self.connect() as sock:
            sock.sendall(self.head("GET", "/coffre/", "Accept: text/html"))
            response = http.client.HTTPResponse(sock)
            response.begin()
            body = response.read()
            cookies = [value for name, value in response.getheaders() if name.lower() == "set-cookie"]
        if response.status != 200:
            sys.exit(f"FAIL: GET /coffre/ answered {response.status}: is the session accepted?")
        self.cookies += [c.split(";")[0] for c in cookies if c.startswith(csrf_cookie_name + "=")]
        return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()

    def upload(self, path: Path, size: int, token: str, multipart: bool) -> "Transfer":
        """POST the file as the page's uploader does (the file as the body, its details in X-Document), or
        as the form without scripts does (``multipart``: the envelope built around it). The file itself
        goes by sendfile either way."""
        details = {"name": f"Banc d’essai {size // MB} Mo", "folder": "", "expires_on": ""}
        if multipart:
            boundary = "----BancCoffre" + secrets.token_hex(16)
            fields = [("csrfmiddlewaretoken", token), *details.items()]
            prefix = b"".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                for name, value in fields
            ) + (f'--{boundary}\r\nContent-Disposition: form-data; name="fichier"; filename="{path.name}"\r\n'
                 "Content-Type: application/pdf\r\n\r\n").encode()
            suffix = f"\r\n--{boundary}--\r\n".encode()
            path_and_type = ("/coffre/documents/ajouter/", f"multipart/form-data; boundary={boundary}")
            extra = []
        else:
            prefix = suffix = b""
            path_and_type = ("/coffre/documents/envoyer/", "application/octet-stream")
            extra = [f"X-CSRFToken: {token}", f"X-Document: {urlencode({**details, 'filename': path.name})}"]
        head = self.head(
            "POST", path_and_type[0], f"Content-Type: {path_and_type[1]}",
            f"Content-Length: {len(prefix) + size + len(suffix)}", "Accept: application/json",
            f"Origin: http://{self.host}", f"Referer: http://{self.host}/coffre/", *extra,
        )
        transfer = Transfer(size)
        with self.connect() as sock, open(path, "rb") as source:
            transfer.started = time.perf_counter()
            try:
                sock.sendall(head + prefix)
                sock.sendfile(source)
                if suffix:
                    sock.sendall(suffix)
            except (BrokenPipeError, ConnectionResetError) as exc:
                transfer.error = f"the server stopped reading: {exc}"
            transfer.sent = time.perf_counter()
            response = http.client.HTTPResponse(sock)
            try:
                response.begin()
                transfer.body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                transfer.error = f"no answer: {exc!r}"
                return transfer
            transfer.answered = time.perf_counter()
            transfer.status = response.status
        return transfer

    def download(self, document_id, out: Path) -> "Transfer":
        """GET the file, written to disk as it comes over a file laid out beforehand (see lay_out),
        hashed afterwards, outside the time measured."""
        transfer = Transfer(0)
        buffer = bytearray(PIECE)
        view = memoryview(buffer)
        with self.connect() as sock, open(out, "r+b") as sink:
            transfer.started = time.perf_counter()
            sock.sendall(self.head("GET", f"/coffre/documents/{document_id}/fichier/"))
            transfer.sent = time.perf_counter()
            response = http.client.HTTPResponse(sock)
            response.begin()
            transfer.first_byte = time.perf_counter()  # headers: the server has verified the whole ciphertext
            transfer.status = response.status
            while received := response.readinto(buffer):
                sink.write(view[:received])
                transfer.size += received
            transfer.answered = time.perf_counter()
            sink.truncate()  # exactly what came
        return transfer


def lay_out(path: Path, size: int) -> None:
    """Zeros over the whole size, before the clock starts: the download then writes into pages already in memory.

    The client stands for a browser on another machine: its own disk costs are
    not the server's. On this machine's kind (a VM whose memory the host backs
    lazily, and takes back when freed), the first write to fresh page-cache
    pages costs ~2 ms per MB, as much as the server's whole work.
    """
    zeros = bytes(PIECE)
    with open(path, "wb") as sink:
        for start in range(0, size, PIECE):
            sink.write(zeros[: min(PIECE, size - start)])


@dataclass
class Transfer:
    size: int
    status: int = 0
    started: float = 0.0
    sent: float = 0.0  # upload: last byte handed to the kernel; download: request sent
    first_byte: float = 0.0  # download: response headers received
    answered: float = 0.0  # upload: response received; download: last byte received
    body: bytes = b""
    error: str = ""
    # Measured around it:
    server_cpu: float = 0.0  # seconds
    server_system: float = 0.0  # seconds of it in the kernel
    server_faults: int = 0  # minor page faults: memory the kernel had to map (and zero) for the server
    client_cpu: float = 0.0  # seconds, this process (the client and the memory sampler)
    server_written: int = 0  # bytes the server passed to write() (files and sockets)
    memory: "Memory" = None
    others: OtherLoad = None

    @property
    def seconds(self) -> float:
        return self.answered - self.started

    @property
    def rate(self) -> float:
        return self.size / MB / self.seconds if self.answered else 0.0


# The server's memory and work ----------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(child for child, parent in parents.items() if parent == current)
    return tree


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def system_seconds(pid: int) -> float:
    """The part of cpu_seconds() spent in the kernel (system time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[12]) / CLOCK_TICKS


def minor_faults(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7])


def written_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("wchar:"):
                total += int(line.split()[1])
    return total


class Memory(threading.Thread):
    """The server's RSS (all its processes) every 50 ms during a transfer, and the kernel's exact peak.

    Before the transfer the kernel's high-water mark (VmHWM) is reset
    (``/proc/<pid>/clear_refs``, 5): afterwards it is the true peak, which
    sampling could miss between two samples.
    """

    def __init__(self, server_pid: int):
        super().__init__(daemon=True)
        self.pids = process_tree(server_pid)
        self.stopping = threading.Event()
        self.samples: list[int] = []
        self.hwm_reset = True
        for pid in self.pids:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                self.hwm_reset = False  # then the sampled peak only
        self.idle_kib = self._rss()

    def _rss(self) -> int:
        return sum(status_kib(pid, "VmRSS") for pid in self.pids)

    def run(self) -> None:
        while not self.stopping.wait(SAMPLE_EVERY):
            self.samples.append(self._rss())

    def stop(self) -> "Memory":
        self.stopping.set()
        self.join()
        self.samples.append(self._rss())
        self.sampled_peak_kib = max(self.samples)
        self.hwm_kib = sum(status_kib(pid, "VmHWM") for pid in self.pids) if self.hwm_reset else 0
        return self

    @property
    def peak_mb(self) -> float:
        return max(self.sampled_peak_kib, self.hwm_kib) / 1024

    @property
    def idle_mb(self) -> float:
        return self.idle_kib / 1024


def measured(server_pid: int, run) -> Transfer:
    """Run one transfer with the server's memory, CPU and writes measured around it.

    The page cache's dirty pages (the file just written) are flushed first:
    their writeback would otherwise slow the server's own writes down.
    """
    os.sync()
    pids = process_tree(server_pid)
    memory = Memory(server_pid)
    cpu = sum(cpu_seconds(pid) for pid in pids)
    system = sum(system_seconds(pid) for pid in pids)
    faults = sum(minor_faults(pid) for pid in pids)
    written = written_bytes(pids)
    memory.start()
    client_cpu = time.process_time()
    with OtherLoad() as others:
        transfer = run()
    transfer.client_cpu = time.process_time() - client_cpu
    transfer.memory = memory.stop()
    transfer.server_cpu = sum(cpu_seconds(pid) for pid in pids) - cpu
    transfer.server_system = sum(system_seconds(pid) for pid in pids) - system
    transfer.server_faults = sum(minor_faults(pid) for pid in pids) - faults
    transfer.server_written = written_bytes(pids) - written
    transfer.others = others
    return transfer


# The cryptography alone (this process, one core, from memory) -----------------------------


@dataclass
class InProcess:
    """MB/s over the file's size, the best of the repeats."""

    sha256: float = 0.0
    aes_gcm: float = 0.0
    encrypt: float = 0.0  # StreamEncryptor: SHA-256 + AES-256-GCM, one pass
    decrypt: float = 0.0  # decrypt_stream over the stored ciphertext
    write_first: float = 0.0  # a new file of the same size, the first time
    write_best: float = 0.0  # the same, best of the repeats


def best_rate(size: int, work) -> float:
    best = 0.0
    for _ in range(IN_PROCESS_REPEATS):
        started = time.perf_counter()
        work()
        best = max(best, size / MB / (time.perf_counter() - started))
    return best


def write_rates(size: int, directory: Path) -> tuple[float, float]:
    """Writing a new file of ``size`` bytes (1 MB writes, page cache): the first time, and the best of the repeats.

    The upload writes the ciphertext once: on a machine where fresh memory is
    slow to come by, this bounds it as much as the cryptography does.
    """
    piece = random.Random(8).randbytes(PIECE)
    rates = []
    for repeat in range(IN_PROCESS_REPEATS):
        os.sync()
        path = directory / f"write-{repeat}"
        started = time.perf_counter()
        with open(path, "wb") as sink:
            for start in range(0, size, PIECE):
                sink.write(piece[: min(PIECE, size - start)])
        rates.append(size / MB / (time.perf_counter() - started))
        path.unlink()
    return rates[0], max(rates)


def in_process_rates(size: int, ciphertext: bytes, document_key: bytes, context: bytes) -> InProcess:
    from beffroi.safe.crypto import StreamEncryptor, decrypt_stream, new_key
    from beffroi.safe.crypto.aead import aes256gcm

    rng = random.Random(7)
    pool = [rng.randbytes(PIECE) for _ in range(8)]
    pieces = [pool[i % len(pool)] for i in range(size // PIECE)]
    if size % PIECE:
        pieces.append(pool[0][: size % PIECE])

    def sha256():
        digest = hashlib.sha256()
        for piece in pieces:
            digest.update(piece)
        digest.hexdigest()

    def aes_gcm():
        aead, prefix = aes256gcm(new_key()), os.urandom(8)
        for index, piece in enumerate(pieces):
            aead.encrypt(prefix + index.to_bytes(4, "big"), piece, b"banc")

    def encrypt():
        encryptor = StreamEncryptor(new_key(), b"document:banc")
        for piece in pieces:
            encryptor.update(piece)
        encryptor.finalize()

    def decrypt():
        for _chunk in decrypt_stream(io.BytesIO(ciphertext), key=document_key, context=context):
            pass

    return InProcess(
        sha256=best_rate(size, sha256), aes_gcm=best_rate(size, aes_gcm), encrypt=best_rate(size, encrypt),
        decrypt=best_rate(size, decrypt),
    )


# The run ----------------------------------------------------------------------------------------


@dataclass
class Round:
    upload: Transfer
    download: Transfer
    in_process: InProcess
    checks: dict  # what must hold → whether it did


def one_round(site: Installation, client: Client, server_pid: int, token: str, safe, size: int, seed: int,
              label: str, multipart: bool) -> Round:
    from beffroi.safe.crypto import ciphertext_size
    from beffroi.safe.keys import document_key, safe_key
    from beffroi.safe.services.documents import storage

    work = site.var_dir / "client"
    work.mkdir(exist_ok=True)
    original, copy = work / f"{label}.pdf", work / f"{label}-back.pdf"
    expected_sha = make_file(original, size, seed)
    with open(original, "rb") as source:
        head = source.read(HEAD_CHECK)

    before = document_ids(safe)
    upload = measured(server_pid, lambda: client.upload(original, size, token, multipart))
    if upload.status != 200:
        sys.exit(f"FAIL: the upload answered {upload.status or 'nothing'} {upload.error} {upload.body[:300]!r}\n"
                 f"{Path(site.processes[-1].log_path).read_text()[-3000:]}")
    document = stored_document(safe, before)
    stored = Path(storage().path(document.storage_name))
    leftovers = sorted(p.name for p in (site.var_dir / "tmp").iterdir())

    lay_out(copy, size)
    download = measured(server_pid, lambda: client.download(document.pk, copy))
    returned_sha = file_sha256(copy) if download.status == 200 else ""

    with open(stored, "rb") as raw, mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as ciphertext_map:
        plaintext_found = ciphertext_map.find(head) != -1
        ciphertext = bytes(ciphertext_map)  # the decryption below reads it from memory
    checks = {
        "upload answered 200": upload.status == 200,
        "download answered 200, all bytes": download.status == 200 and download.size == size,
        "SHA-256 of the download = the original's": returned_sha == expected_sha,
        "SHA-256 recorded by the server = the original's": document.sha256 == expected_sha,
        "stored size = the ciphertext's": stored.stat().st_size == ciphertext_size(size) == document.stored_size,
        "first 4 KB of plaintext not in the stored file": not plaintext_found,
        "no temporary file left by the server": not leftovers,
    }
    doc_key = document_key(safe_key(document.safe), document)
    rates = in_process_rates(size, ciphertext, doc_key, document.context())
    del ciphertext
    rates.write_first, rates.write_best = write_rates(size, work)
    for path in (original, copy):
        path.unlink()
    return Round(upload, download, rates, checks)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=512, help="the file's size in MB (MiB; default 512)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL on 127.0.0.1:5432 instead of SQLite")
    parser.add_argument("--rounds", type=int, default=1,
                        help="upload and download N files, keep the best rates and the highest memory (default 1)")
    parser.add_argument("--multipart", action="store_true",
                        help="upload as the form without scripts does (multipart, POST /coffre/documents/ajouter/)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    size = args.size_mb * MB
    # The limits are raised for the run only: the server reads them from its environment.
    max_document_mb = max(2048, args.size_mb + 1)
    limits = {"SAFE_MAX_DOCUMENT_MB": str(max_document_mb),
              "SAFE_QUOTA_MB": str(max_document_mb * (args.rounds + 1)),
              # The benchmark's safe has no verified mobile and no link: give it the full quota all the same.
              "SAFE_UNVERIFIED_QUOTA_MB": str(max_document_mb * (args.rounds + 1))}
    print_machine()
    with Installation("safe_files", postgres=args.postgres, **limits) as site:
        site.load_demo()
        site.use_here()
        from django.conf import settings

        safe, session_key = beneficiary_session()
        port = free_port()
        # The ciphertext while it arrives waits in the installation's var/tmp (FILE_UPLOAD_TEMP_DIR's default,
        # created by the settings): checked empty after each upload.
        server = site.start_web(port)
        client = Client(port, f"{settings.SESSION_COOKIE_NAME}={session_key}")
        token = client.csrf_token(settings.CSRF_COOKIE_NAME)
        # Once per process in real life too: the upload and download code paths, imports.
        warm_up = one_round(site, client, server.pid, token, safe, WARM_UP_BYTES, 0, "warm-up", args.multipart)
        if not all(warm_up.checks.values()):
            report_checks(warm_up.checks)
            sys.exit("FAIL: the warm-up transfer did not pass its checks.")
        rounds = [one_round(site, client, server.pid, token, safe, size, n + 1, f"round-{n + 1}", args.multipart)
                  for n in range(args.rounds)]
        web_threads = settings.WEB_THREADS
    report(args, rounds, max_document_mb, web_threads)


def report_checks(checks: dict) -> None:
    print(table(["check", ""], [[name, "ok" if ok else "FAILED"] for name, ok in checks.items()]))
    print()


def mb_s(value: float) -> str:
    return f"{value:,.0f} MB/s"


def report(args, rounds: list[Round], max_document_mb: int, web_threads: int) -> None:
    checks = {name: all(r.checks[name] for r in rounds) for name in rounds[0].checks}
    upload = max((r.upload for r in rounds), key=lambda t: t.rate)
    download = max((r.download for r in rounds), key=lambda t: t.rate)
    rates = InProcess(
        sha256=max(r.in_process.sha256 for r in rounds), aes_gcm=max(r.in_process.aes_gcm for r in rounds),
        encrypt=max(r.in_process.encrypt for r in rounds), decrypt=max(r.in_process.decrypt for r in rounds),
        write_first=min(r.in_process.write_first for r in rounds), write_best=max(r.in_process.write_best for r in rounds),
    )
    peak_up = max(r.upload.memory.peak_mb for r in rounds)
    peak_down = max(r.download.memory.peak_mb for r in rounds)
    idle = min(min(r.upload.memory.idle_mb, r.download.memory.idle_mb) for r in rounds)
    size_mb = args.size_mb

    print(table(["run", ""], [
        ["file", f"{size_mb:,} MB of random bytes (starting like a PDF), sent from disk (sendfile), "
                 "received to disk"],
        ["database", "PostgreSQL" if args.postgres else "SQLite"],
        ["server", f"uvicorn, 1 process, WEB_THREADS={web_threads}; SAFE_MAX_DOCUMENT_MB={max_document_mb}"],
        ["upload door", "multipart form, POST /coffre/documents/ajouter/" if args.multipart
         else "the file as the body, POST /coffre/documents/envoyer/ (the page's uploader)"],
        ["rounds", f"{args.rounds} (best rate of each transfer, highest memory)"],
        ["upload, each round", ", ".join(mb_s(r.upload.rate) for r in rounds)],
        ["download, each round", ", ".join(mb_s(r.download.rate) for r in rounds)],
        ["other processes, upload (best round)", upload.others.describe()],
        ["other processes, download (best round)", download.others.describe()],
    ]))
    print()
    report_checks(checks)

    print(table(["in this process, one core, from memory", f"over {size_mb:,} MB"], [
        ["SHA-256 alone (hashlib)", mb_s(rates.sha256)],
        ["AES-256-GCM alone (1 MB chunks)", mb_s(rates.aes_gcm)],
        ["StreamEncryptor: SHA-256 + AES-256-GCM, one pass (upload)", mb_s(rates.encrypt)],
        ["decrypt_stream over the stored ciphertext (download)", mb_s(rates.decrypt)],
        ["for reference: writing a new file, 1 MB writes (first time / best)",
         f"{mb_s(rates.write_first)} / {mb_s(rates.write_best)}"],
    ]))
    print()

    def share(seconds: float, transfer: Transfer) -> str:
        return f"{seconds / transfer.seconds:.0%} of one core"

    def server_share(transfer: Transfer) -> str:
        return f"{share(transfer.server_cpu, transfer)} ({transfer.server_system / transfer.server_cpu:.0%} kernel)"

    tail = upload.answered - upload.sent
    print(table(["over HTTP (best round)", "seconds", "rate", "server CPU", "client CPU", "detail"], [
        ["upload: first byte sent → response", f"{upload.seconds:.2f}", mb_s(upload.rate),
         server_share(upload), share(upload.client_cpu, upload),
         f"{tail:.2f} s from the last byte sent to the answer; the server wrote "
         f"{upload.server_written / upload.size:.1f}× the file (write calls); "
         f"{upload.server_faults / (upload.size / MB):,.0f} page faults per MB"],
        ["download: request → last byte", f"{download.seconds:.2f}", mb_s(download.rate),
         server_share(download), share(download.client_cpu, download),
         f"{download.first_byte - download.started:.2f} s to the first byte (over 64 MiB: no verification pass first, "
         "each chunk authenticated as it is sent); "
         f"{download.server_faults / (download.size / MB):,.0f} page faults per MB"],
    ]))
    print()

    def memory_row(name: str, memories: list) -> list:
        sampled = max(m.sampled_peak_kib for m in memories) / 1024
        hwm = max(m.hwm_kib for m in memories) / 1024
        peak = max(m.peak_mb for m in memories)
        growth = max(m.peak_mb - m.idle_mb for m in memories)
        return [name, f"{min(m.idle_mb for m in memories):.0f} MB", f"{sampled:.0f} MB",
                f"{hwm:.0f} MB" if hwm else "n/a", f"{peak:.0f} MB", f"+{growth:.0f} MB"]

    print(table(["server memory (RSS)", "idle before", "peak, sampled /50 ms", "peak, kernel (VmHWM)", "peak",
                 "peak − idle"], [
        memory_row("upload", [r.upload.memory for r in rounds]),
        memory_row("download", [r.download.memory for r in rounds]),
    ]))
    print()

    up_ratio = upload.rate / rates.encrypt
    down_ratio = download.rate / rates.decrypt
    all_checked = all(checks.values())
    results = [
        ["upload ÷ StreamEncryptor (SHA-256 + AES-256-GCM)", f"{up_ratio:.1%}", f">= {TARGET_RATIO:.0%}",
         verdict(up_ratio >= TARGET_RATIO and all_checked)],
        ["download ÷ decrypt_stream", f"{down_ratio:.1%}", f">= {TARGET_RATIO:.0%}",
         verdict(down_ratio >= TARGET_RATIO and all_checked)],
        ["server peak memory, upload", f"{peak_up:.0f} MB", f"< {TARGET_PEAK_MB} MB", verdict(peak_up < TARGET_PEAK_MB)],
        ["server peak memory, download", f"{peak_down:.0f} MB", f"< {TARGET_PEAK_MB} MB",
         verdict(peak_down < TARGET_PEAK_MB)],
    ]
    print(table(["safe files", "measured", "target", "verdict"], results))
    print(f"\n(idle server {idle:.0f} MB)")
    if not all_checked:
        print("\nFAIL: a check failed (see above).")
    if not all_checked or any(row[3] == "FAIL" for row in results):
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beffroi.settings")
    main()
