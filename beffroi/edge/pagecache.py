"""Anonymous pages that did not change since the last publication, from memory.

Django marks the responses that may be shared (``beffroi.edge.marks``), with
the query parameters the view reads; this layer keeps them per host, path and
those parameters only (``?x=1``, ``?x=2``… are one page), and drops a
commune's pages as soon as the hub sees an event on its public channel, in
every process. Pages that depend on the clock (what is "upcoming") also
expire after a short TTL. Memory is bounded in bytes: the least recently used
pages go first.

CSP nonces stay unique per response: the stored page holds a placeholder that
a fresh nonce replaces at each hit.
"""

import base64
import hashlib
import os
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

PRIVATE_PREFIX = b"x-edge-"
CAPTURE_HEADER = (b"x-edge-capture", b"1")
SHARED_HEADER = b"x-edge-shared"
NONCE_HEADER = b"x-edge-nonce"
PARAMS_HEADER = b"x-edge-params"
MAX_BODY = 2 * 1024 * 1024
DROPPED_HEADERS = {b"content-length", b"date", b"server"}
MAX_KNOWN_PATHS = 10_000
MAX_QUERY_FIELDS = 100


def shared_query(query: str, params: tuple[str, ...]) -> str | None:
    """The part of a query string a shared page depends on: its declared
    parameters, in their order, re-encoded (decoded as Django's QueryDict
    does). None when it cannot be read."""
    if not params or not query:
        return ""
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
    except ValueError:
        return None
    return urlencode([(name, value) for name, value in pairs if name in params])


@dataclass(slots=True)
class Entry:
    headers: list[tuple[bytes, list[bytes]]]  # values split on the nonce placeholder
    body: list[bytes]  # split on the nonce placeholder
    etag: bytes
    commune_id: int
    stored_at: float
    size: int


def _cookie_names(headers) -> bytes:
    return b";".join(value for name, value in headers if name == b"cookie")


class PageCache:
    def __init__(self, app, *, max_bytes: int, ttl: float, session_cookie: str):
        self.app = app
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.session_cookie = session_cookie.encode() + b"="
        self.placeholder = b"edge-nonce-" + secrets.token_hex(12).encode()
        self.entries: OrderedDict[tuple, Entry] = OrderedDict()
        self.size = 0  # bytes held by the entries
        # Path → the query parameters its view reads, learnt from its responses.
        self.params: dict[str, tuple[str, ...]] = {}
        self.generation = 0
        self.hits = 0
        self.misses = 0

    # Invalidation (a hub listener) -------------------------------------------

    def invalidate(self, records) -> None:
        communes = {r.channel.partition(":")[2] for r in records if r.channel.startswith("public:")}
        if not communes:
            return
        self.generation += 1
        stale = [key for key, entry in self.entries.items() if str(entry.commune_id) in communes]
        for key in stale:
            self.size -= self.entries.pop(key).size

    def clear(self) -> None:
        self.generation += 1
        self.entries.clear()
        self.size = 0

    # Serving ------------------------------------------------------------------

    def _shareable_request(self, scope) -> bool:
        if scope["method"] not in ("GET", "HEAD"):
            return False
        for name, value in scope["headers"]:
            if name == b"authorization":
                return False
            if name == b"cookie" and self.session_cookie in value:
                return False
        return True

    async def __call__(self, scope, receive, send) -> None:
        # Nobody outside may speak for the edge.
        headers = [h for h in scope["headers"] if not h[0].startswith(PRIVATE_PREFIX)]
        if not self._shareable_request(scope):
            return await self.app(dict(scope, headers=headers), receive, send)
        host = next((v for n, v in headers if n == b"host"), b"").lower()
        path, query = scope["path"], scope.get("query_string", b"").decode("latin-1")
        params = self.params.get(path)
        if params is not None:
            shared = shared_query(query, params)
            entry = self.entries.get((host, path, shared)) if shared is not None else None
            if entry is not None and time.monotonic() - entry.stored_at < self.ttl:
                self.entries.move_to_end((host, path, shared))
                self.hits += 1
                return await self._serve(entry, scope, headers, send)
        self.misses += 1
        if scope["method"] == "HEAD":
            return await self.app(dict(scope, headers=headers), receive, send)
        await self._render_and_keep(host, path, query, dict(scope, headers=[*headers, CAPTURE_HEADER]), receive, send)

    async def _serve(self, entry: Entry, scope, request_headers, send) -> None:
        if_none_match = next((v for n, v in request_headers if n == b"if-none-match"), None)
        if if_none_match is not None and entry.etag in if_none_match:
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", entry.etag)]})
            await send({"type": "http.response.body", "body": b""})
            return
        nonce = base64.b64encode(os.urandom(16))
        body = nonce.join(entry.body)
        headers = [(name, nonce.join(parts)) for name, parts in entry.headers]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    async def _render_and_keep(self, host: bytes, path: str, query: str, scope, receive, send) -> None:
        generation = self.generation
        start: dict = {}
        chunks: list[bytes] = []
        keep = False

        async def capture(message):
            nonlocal keep
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                private = {n: v for n, v in headers if n.startswith(PRIVATE_PREFIX)}
                keep = (
                    message["status"] == 200
                    and SHARED_HEADER in private
                    and not any(n == b"set-cookie" for n, _ in headers)
                )
                start.update(message, headers=[h for h in headers if not h[0].startswith(PRIVATE_PREFIX)])
                start["private"] = private
                await send({k: v for k, v in start.items() if k != "private"})
                return
            if keep:
                chunks.append(message.get("body", b""))
                if sum(map(len, chunks)) > MAX_BODY:
                    keep = False
                    chunks.clear()
            await send(message)

        await self.app(scope, receive, capture)
        if not keep or generation != self.generation:
            return
        # The view saw only its declared parameters (marks.shared_page): the
        # page is the one for that part of the query, whatever else it held.
        params = tuple(name for name in start["private"].get(PARAMS_HEADER, b"").decode().split(",") if name)
        shared = shared_query(query, params)
        if shared is None:
            return
        if len(self.params) >= MAX_KNOWN_PATHS:
            self.params.clear()
        self.params[path] = params
        self._store((host, path, shared), start, b"".join(chunks))

    def _store(self, key, start: dict, body: bytes) -> None:
        private = start["private"]
        nonce = private.get(NONCE_HEADER)
        placeholder = self.placeholder

        def split(value: bytes) -> list[bytes]:
            return value.replace(nonce, placeholder).split(placeholder) if nonce else [value]

        headers = [(n, split(v)) for n, v in start["headers"] if n not in DROPPED_HEADERS and n != b"etag"]
        body_parts = split(body)
        etag = b'"' + hashlib.sha256(placeholder.join(body_parts)).hexdigest()[:32].encode() + b'"'
        headers.append((b"etag", [etag]))
        size = sum(map(len, body_parts)) + sum(len(n) + sum(map(len, v)) for n, v in headers) + len(key[0]) + 256
        previous = self.entries.pop(key, None)
        if previous is not None:
            self.size -= previous.size
        self.entries[key] = Entry(
            headers=headers,
            body=body_parts,
            etag=etag,
            commune_id=int(private[SHARED_HEADER]),
            stored_at=time.monotonic(),
            size=size,
        )
        self.size += size
        while self.size > self.max_bytes and self.entries:
            self.size -= self.entries.popitem(last=False)[1].size
