"""Crawl the public site through the real server, then fuzz the paths found
(not only their query strings): whatever the bytes of a path, the answer is
never a server error.

The server is the one clients reach (uvicorn, the edge, the WSGI bridge,
Django): an in-process call would skip how a path's bytes reach Django.
"""

import http.client
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

import requests
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from beffroi.info.models import Post
from beffroi.info.tests.helpers import published

NASTY_SEGMENTS = [
    "%E2%82%AC",  # €
    "%F0%9F%8E%89",  # 🎉
    "%FF",  # not UTF-8
    "%C0%AF",  # an overlong "/"
    "%00",
    "%E2%80%AE",  # right-to-left override
    "..%2F..%2Fetc%2Fpasswd",
    "%25",
    "a" * 2000,
    "%20",
    "%0D%0ASet-Cookie:x=1",
]
NASTY_QUERIES = ["page=%FF", "page=-1", "page=99999999999999999999", "q=%E2%82%AC", "theme=%00", "page=1&page=2",
                 "%FF=1", "since=abc"]
MAX_PAGES = 60
# Services not yet linked from the home page (issue 10) are crawled from here too.
ENTRY_POINTS = ["/", "/signaler/", "/signalements/", "/coffre/creer/", "/compte/connexion/"]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag in ("a", "link"):
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)


def _crawl(base: str) -> list[str]:
    seen, queue = set(), list(ENTRY_POINTS)
    with requests.Session() as session:
        while queue and len(seen) < MAX_PAGES:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            response = session.get(base + path, timeout=15, allow_redirects=False)
            assert response.status_code < 500, (path, response.status_code)
            if "text/html" not in response.headers.get("Content-Type", ""):
                continue
            parser = _Links()
            parser.feed(response.text)
            for href in parser.links:
                parts = urlsplit(urljoin(base + path, href))
                if parts.netloc == urlsplit(base).netloc and not parts.path.startswith(("/static/", "/flux/")):
                    queue.append(parts.path)
    return sorted(seen)


def _variants(path: str) -> list[str]:
    """The path with a segment added, its last segment replaced, its end
    lengthened, and odd query strings."""
    trimmed = path.rstrip("/")
    parent = trimmed.rsplit("/", 1)[0]
    variants = []
    for segment in NASTY_SEGMENTS:
        variants += [f"{trimmed}/{segment}/", f"{parent}/{segment}/", f"{trimmed or '/x'}{segment}"]
    variants += [f"{path}?{query}" for query in NASTY_QUERIES]
    return variants


def _get_raw(base: str, target: str) -> int:
    """The path goes out byte for byte (requests would re-quote it)."""
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=15)
    try:
        connection.request("GET", target)
        return connection.getresponse().status
    finally:
        connection.close()


def _seed(commune, editor):
    published(commune, editor, title="Conseil municipal", summary="Ordre du jour")
    published(commune, editor, Post.Kind.EVENT, title="Fête du village")
    published(commune, editor, Post.Kind.WORKS, title="Réfection de la rue")
    published(commune, editor, Post.Kind.ALERT, title="Vigilance orages")


def test_every_page_found_answers_without_a_server_error_whatever_its_path(live_server_asgi, commune, editor):
    _seed(commune, editor)
    live_server_asgi.wait_for_events()
    base = live_server_asgi.url
    pages = _crawl(base)
    assert {"/", "/actualites/", "/agenda/", "/travaux/", "/signaler/", "/signalements/"} <= set(pages)
    failures = []
    for path in pages:
        for target in _variants(path):
            status = _get_raw(base, target)
            if status >= 500:
                failures.append((target, status))
    assert not failures


@hypothesis_settings(max_examples=150, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(prefix=st.sampled_from(["", "actualites", "agenda", "travaux", "alertes", "signalements", "suivi", "coffre",
                               "accompagnement", "gestion", "api/v1/posts", "api/v1/panels", "open311/v2/requests",
                               "panneau", "compte"]),
       segment=st.text(min_size=1, max_size=40) | st.binary(min_size=1, max_size=20).map(
           lambda raw: "".join(f"%{byte:02X}" for byte in raw)))
def test_any_segment_under_any_route_answers_without_a_server_error(live_server_asgi, prefix, segment):
    target = f"/{prefix}/{segment if segment.startswith('%') else quote(segment, safe='')}/".replace("//", "/")
    assert _get_raw(live_server_asgi.url, target) < 500, target
