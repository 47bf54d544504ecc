"""The page cache in front of Django, through the real server."""

import re
import time

import pytest
import requests

from beffroi.info.models import Post
from beffroi.info.services import post_transition
from beffroi.info.tests.helpers import published

NONCE = re.compile(r"'nonce-([A-Za-z0-9+/=]+)'")


def _get(server, path="/", **kwargs):
    return requests.get(server.url + path, timeout=10, **kwargs)


def test_unchanged_pages_are_served_from_memory_with_fresh_nonces(live_server_asgi, commune, editor):
    published(commune, editor, title="Kermesse")
    live_server_asgi.wait_for_events()
    _get(live_server_asgi)  # rendered by Django, then kept
    first, second = _get(live_server_asgi), _get(live_server_asgi)
    assert live_server_asgi.app.pages.hits >= 2
    assert "Kermesse" in second.text
    # Same page, but each response has its own nonce, in the header and the body.
    nonces = [NONCE.search(r.headers["Content-Security-Policy"]).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1]
    for response, nonce in zip((first, second), nonces, strict=True):
        assert f'nonce="{nonce}"' in response.text
    assert first.headers["ETag"] == second.headers["ETag"]
    assert not any(name.lower().startswith("x-edge-") for name in second.headers)
    for header in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"):
        assert header in second.headers


def test_a_publication_refreshes_the_pages_at_once(live_server_asgi, commune, editor):
    assert "Vide-grenier" not in _get(live_server_asgi).text
    published(commune, editor, title="Vide-grenier")
    deadline = time.monotonic() + 2
    while "Vide-grenier" not in _get(live_server_asgi).text:
        assert time.monotonic() < deadline, "the page kept its stale copy"
        time.sleep(0.05)


def test_revalidation_answers_304(live_server_asgi, commune):
    _get(live_server_asgi)
    etag = _get(live_server_asgi).headers["ETag"]
    again = _get(live_server_asgi, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_signed_in_visitors_bypass_the_cache(live_server_asgi, commune, editor):
    post = published(commune, editor, title="Avant")
    _get(live_server_asgi)
    hits = live_server_asgi.app.pages.hits
    _get(live_server_asgi, cookies={"sessionid": "quelconque"})
    assert live_server_asgi.app.pages.hits == hits
    post_transition(actor=editor, post=post, action="withdraw")


def test_forged_edge_headers_are_ignored(live_server_asgi, commune):
    response = _get(live_server_asgi, "/notifications/", headers={"X-Edge-Capture": "1", "X-Edge-Shared": "99"})
    assert response.status_code == 200
    assert not any(name.lower().startswith("x-edge-") for name in response.headers)


@pytest.mark.parametrize("path", ["/gestion/", "/compte/login/"])
def test_private_pages_are_never_shared(live_server_asgi, commune, path):
    _get(live_server_asgi, path)
    _get(live_server_asgi, path)
    keys = {key[1] for key in live_server_asgi.app.pages.entries}
    assert path not in keys


def test_an_alert_reaches_the_cached_home_page_of_every_process_through_the_log(live_server_asgi, commune, editor):
    _get(live_server_asgi)
    alert = published(commune, editor, kind=Post.Kind.ALERT, title="Orages")
    deadline = time.monotonic() + 2
    while "Orages" not in _get(live_server_asgi).text:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    post_transition(actor=editor, post=alert, action="withdraw")
    deadline = time.monotonic() + 2
    while "Orages" in _get(live_server_asgi).text:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_undeclared_query_parameters_neither_split_nor_evict_pages(live_server_asgi, commune, editor):
    """A page is kept per declared parameter only: "?x=1", "?x=2"… are the same
    page, served from memory, and do not push the other pages out."""
    published(commune, editor, title="Kermesse")
    live_server_asgi.wait_for_events()
    pages = live_server_asgi.app.pages
    for path in ("/", "/actualites/", "/actualites/?page=1"):
        _get(live_server_asgi, path)
    # A page is kept once its last byte is sent, just after the client has it.
    deadline = time.monotonic() + 5
    while len(pages.entries) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    kept = set(pages.entries)
    assert len(kept) == 3
    hits = pages.hits
    for i in range(200):
        assert _get(live_server_asgi, f"/?x={i}&utm_source=y{i}").status_code == 200
        assert _get(live_server_asgi, f"/actualites/?campagne={i}").status_code == 200
    assert set(pages.entries) == kept
    assert pages.hits - hits == 400
    # A declared parameter does make another page.
    assert _get(live_server_asgi, "/actualites/?page=2").status_code == 404  # one page of news only
    assert len(pages.entries) == len(kept)


def test_a_view_sees_only_its_declared_parameters(client, commune):
    from beffroi.edge.marks import shared_page

    seen = {}

    @shared_page(params=("page",))
    def view(request):
        seen.update(get=dict(request.GET), full=request.get_full_path())
        from django.http import HttpResponse

        return HttpResponse("ok")

    from django.test import RequestFactory

    view(RequestFactory().get("/liste/?utm=1&page=2&x=%FF"))
    assert seen == {"get": {"page": ["2"]}, "full": "/liste/?page=2"}


def test_memory_is_bounded_in_bytes(settings):
    from beffroi.edge.pagecache import PageCache

    cache = PageCache(None, max_bytes=50_000, ttl=60, session_cookie="sessionid")
    start = {"headers": [(b"content-type", b"text/html")], "private": {b"x-edge-shared": b"1"}}
    for i in range(100):
        cache._store((b"testserver", f"/page-{i}/", ""), start, b"p" * 4000)
    assert cache.size <= 50_000 and 5 <= len(cache.entries) < 20
    assert (b"testserver", "/page-99/", "") in cache.entries and (b"testserver", "/page-0/", "") not in cache.entries
    assert cache.size == sum(entry.size for entry in cache.entries.values())
