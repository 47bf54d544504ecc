"""Security headers on every kind of response."""

import re

from django.test import Client

NONCE = re.compile(r"'nonce-([A-Za-z0-9+/=]+)'")


def _policy(response) -> dict[str, str]:
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
        for part in response["Content-Security-Policy"].split("; ")
    }


def test_pages_carry_a_strict_policy_with_a_fresh_nonce(client, commune):
    first, second = client.get("/"), client.get("/")
    policy = _policy(first)
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert "'unsafe-inline'" not in first["Content-Security-Policy"]
    nonces = [NONCE.search(r["Content-Security-Policy"]).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1]
    html = first.content.decode()
    # Every inline <style> or <script> carries the nonce; scripts are files.
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        assert "src=" in tag or f'nonce="{nonces[0]}"' in tag or 'type="application/json"' in tag, tag
    assert first["X-Content-Type-Options"] == "nosniff"
    assert first["Referrer-Policy"] == "same-origin"
    assert first["X-Frame-Options"] == "DENY"


def test_pages_without_inline_code_name_no_nonce(client, commune):
    policy = _policy(client.get("/manifest.webmanifest"))
    assert "nonce" not in policy["script-src"]


def test_hsts_and_secure_cookies_in_production(settings, commune):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    response = Client().get("/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_json_and_feeds_are_not_sniffed(client, commune):
    for path in ("/api/v1/posts", "/rss.xml", "/agenda.ics"):
        assert client.get(path)["X-Content-Type-Options"] == "nosniff"


def test_private_pages_are_never_stored_by_a_cache(client, commune, editor):
    """A shared computer's history or a proxy must not keep what a signed-in person saw."""
    from conftest import sign_in_with_second_factor

    for path in ("/compte/connexion/", "/gestion/", "/coffre/", "/accompagnement/"):
        cache_control = client.get(path)["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control, path
    public = client.get("/")
    assert "no-store" not in public.get("Cache-Control", "")
    assert "Cookie" not in public.get("Vary", "")  # a shared page does not depend on who asks
    sign_in_with_second_factor(client, editor)
    for path in ("/gestion/", "/gestion/publications/", "/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path
