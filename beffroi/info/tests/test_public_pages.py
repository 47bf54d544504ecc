"""Public pages: what inhabitants see, with no account."""

from datetime import timedelta

import pytest
from django.utils import timezone

from beffroi.info.models import Post
from beffroi.info.services import post_transition
from beffroi.info.tests.helpers import published

PAGES = [
    "/", "/actualites/", "/agenda/", "/agenda/?mois=2026-12", "/travaux/", "/alertes/", "/notifications/",
    "/plan-du-site/", "/accessibilite/", "/mentions-legales/", "/donnees-personnelles/", "/api/", "/hors-ligne/",
    "/manifest.webmanifest", "/sw.js", "/icone-192.png", "/icone-512.png",
]


@pytest.mark.parametrize("path", PAGES)
def test_public_pages_answer(client, commune, path):
    assert client.get(path).status_code == 200


def test_the_current_alert_is_on_top_of_every_page(client, commune, editor):
    published(commune, editor, kind=Post.Kind.ALERT, title="Inondation", summary="Évitez la rue basse.")
    for path in ("/", "/actualites/", "/agenda/", "/plan-du-site/"):
        html = client.get(path).content.decode()
        alerts = html.index('id="alertes"')
        assert "Inondation" in html[alerts : html.index('id="live-notice"')]


def test_withdrawn_and_expired_posts_disappear(client, commune, editor):
    post = published(commune, editor, title="Kermesse")
    assert "Kermesse" in client.get("/actualites/").content.decode()
    post_transition(actor=editor, post=post, action="withdraw")
    assert "Kermesse" not in client.get("/actualites/").content.decode()
    assert client.get(post.get_absolute_url()).status_code == 404
    alert = published(commune, editor, kind=Post.Kind.ALERT, title="Verglas")
    Post.objects.filter(pk=alert.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "Verglas" not in client.get("/").content.decode()


def test_filters_by_topic_and_sector(client, commune, editor, topic, sector):
    published(commune, editor, title="Concert au centre", topic=topic, sectors=[sector])
    published(commune, editor, title="Réunion publique")
    html = client.get("/actualites/?theme=culture").content.decode()
    assert "Concert au centre" in html and "Réunion publique" not in html
    # A post about no sector in particular concerns every quartier.
    html = client.get("/actualites/?secteur=centre").content.decode()
    assert "Concert au centre" in html and "Réunion publique" in html


@pytest.mark.parametrize("query", ["theme=inconnu", "secteur=nulle-part", "mois=2026-13"])
def test_unknown_filters_answer_400_in_french(client, commune, query):
    path = "/agenda/" if query.startswith("mois") else "/actualites/"
    response = client.get(f"{path}?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert any(text in html for text in ("n’existe pas", "Mois invalide"))


@pytest.mark.parametrize("page", ["abc", "999"])
def test_bad_page_numbers_answer_404(client, commune, page):
    assert client.get(f"/actualites/?page={page}").status_code == 404


def test_an_old_slug_redirects_to_the_current_address(client, commune, editor):
    post = published(commune, editor, title="Nouveau titre")
    response = client.get(f"/actualites/{post.pk}-ancien-titre/")
    assert response.status_code == 301
    assert response["Location"] == post.get_absolute_url()


def test_markdown_cannot_inject_markup(client, commune, editor):
    post = published(
        commune, editor, title="Texte riche",
        body="**gras** <script>alert(1)</script> [lien](javascript:alert(2)) [ok](https://example.org)",
    )
    html = client.get(post.get_absolute_url()).content.decode()
    assert "<strong>gras</strong>" in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert 'href="https://example.org"' in html


def test_the_agenda_groups_events_by_day(client, commune, editor):
    start = timezone.localtime() + timedelta(days=2)
    published(commune, editor, kind=Post.Kind.EVENT, title="Loto", starts_at=start, ends_at=start + timedelta(hours=3))
    html = client.get("/agenda/").content.decode()
    assert "Loto" in html
    assert f'datetime="{start.date().isoformat()}"' in html


def test_the_manifest_makes_the_site_installable(client, commune):
    manifest = client.get("/manifest.webmanifest").json()
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/")
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}
    assert manifest["theme_color"] == commune.brand_colour


def test_the_service_worker_caches_pages_and_shows_pushes(client, commune):
    response = client.get("/sw.js")
    assert response["Content-Type"].startswith("application/javascript")
    script = response.content.decode()
    for needle in ('addEventListener("fetch"', 'addEventListener("push"', "showNotification", "/hors-ligne/"):
        assert needle in script
