"""Open pages follow publications live, over Server-Sent Events, in a real browser.

Each test has its own server and database (``live_server_asgi``): they change
data, and one stops and restarts the server.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from beffroi.core.models import Membership
from beffroi.info.models import Post, Screen
from beffroi.info.services import post_create, post_transition
from beffroi.site.tests.browser.pages import watch
from conftest import make_staff

pytestmark = pytest.mark.browser

# Records, in each page, when an alert first appears in #alertes (epoch ms).
SEEN_ALERTS = """() => {
  window.seenAlerts = {};
  const box = document.getElementById("alertes");
  const note = () => box.querySelectorAll("[data-post-id]").forEach((node) => {
    if (!(node.dataset.postId in window.seenAlerts)) window.seenAlerts[node.dataset.postId] = Date.now();
  });
  new MutationObserver(note).observe(box, {childList: true, subtree: true});
}"""


def _publish(actor, commune, kind, **fields):
    post = post_create(actor=actor, commune=commune, kind=kind, fields=fields)
    return post_transition(actor=actor, post=post, action="publish")


def _open_with_stream(page, path):
    """Open a page and wait until its event stream is connected."""
    with page.expect_response(lambda response: "/flux/public" in response.url):
        page.goto(path)


def test_a_published_alert_reaches_every_open_page_within_a_second(live_server_asgi, commune, new_page):
    editor = make_staff(commune, Membership.Role.EDITOR)
    home = new_page(live_server_asgi.url)
    news = home.context.new_page()  # a second tab
    watch(news)
    _open_with_stream(home, "/")
    _open_with_stream(news, "/actualites/")
    for page in (home, news):
        page.evaluate(SEEN_ALERTS)
        assert page.locator("#alertes [data-post-id]").count() == 0
        assert page.locator("#alertes").get_attribute("aria-live") == "assertive"

    alert = post_create(
        actor=editor,
        commune=commune,
        kind=Post.Kind.ALERT,
        fields={
            "title": "Coupure d’eau rue Jean Jaurès",
            "summary": "L’eau sera coupée de 14 h à 17 h pour une réparation urgente.",
            "level": Post.Level.DANGER,
            "expires_at": timezone.now() + timedelta(hours=6),
        },
    )
    # Measured from the start of the publication: the delay includes the
    # service's own transaction, commit and event, an upper bound.
    published_ms = time.time() * 1000
    post_transition(actor=editor, post=alert, action="publish")

    selector = f'#alertes [data-post-id="{alert.pk}"]'
    delays = {}
    for name, page in (("accueil", home), ("actualités", news)):
        page.wait_for_function(f"() => window.seenAlerts['{alert.pk}']", timeout=5000)
        delays[name] = (page.evaluate(f"() => window.seenAlerts['{alert.pk}']") - published_ms) / 1000
        card = page.locator(selector).text_content()
        assert "Coupure d’eau rue Jean Jaurès" in card
        assert "Danger" in card  # the level in words, not only in colour
    print(f"alert shown after {delays} seconds")
    assert max(delays.values()) < 1.0, f"alert shown after {delays} seconds"

    post_transition(actor=editor, post=alert, action="withdraw")
    for page in (home, news):
        page.locator(selector).wait_for(state="detached", timeout=5000)
        assert not page.watcher.problems()


def test_the_panel_rotates_follows_publications_and_survives_an_outage(live_server_asgi, commune, new_page):
    editor = make_staff(commune, Membership.Role.EDITOR)
    Screen.objects.create(organisation=commune, name="Panneau du hall", slug="hall", kinds=["news"], slide_seconds=4)
    _publish(
        editor, commune, Post.Kind.ALERT, title="Vigilance orange orages", summary="Évitez les déplacements.",
        level=Post.Level.WARNING, expires_at=timezone.now() + timedelta(hours=6),
    )
    _publish(editor, commune, Post.Kind.NEWS, title="Ouverture de la médiathèque", summary="Le samedi matin.")
    _publish(editor, commune, Post.Kind.NEWS, title="Collecte des encombrants", summary="Le 12, sur inscription.")

    page = new_page(live_server_asgi.url, viewport={"width": 1280, "height": 720})
    _open_with_stream(page, "/panneau/hall/")
    page.evaluate("() => { window.notReloaded = true; }")

    # The current alert comes first, above the rotating slides, its level in words.
    assert page.locator("main h2").first.inner_text() == "Vigilance orange orages"
    assert page.locator("#panel-alerts .panel-alert__level").text_content() == "Vigilance"
    assert page.evaluate(
        "() => !!(document.getElementById('panel-alerts').compareDocumentPosition("
        "document.getElementById('panel-slides')) & Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    current = page.locator(".slide--current h2")
    first_title = current.inner_text()
    page.wait_for_function(
        "(title) => document.querySelector('.slide--current h2').textContent !== title", arg=first_title, timeout=7000
    )

    # A publication appears without reloading.
    _publish(editor, commune, Post.Kind.NEWS, title="Nouveaux horaires de la mairie", summary="Dès lundi.")
    slides = page.locator("#panel-slides")
    slides.get_by_text("Nouveaux horaires de la mairie").wait_for(state="attached", timeout=3000)

    # The server goes away: the panel keeps what it shows and says so.
    live_server_asgi.stop()
    page.get_by_text("Connexion perdue").wait_for(timeout=5000)
    assert slides.get_by_text("Nouveaux horaires de la mairie").count() == 1
    assert "Vigilance orange orages" in page.locator("#panel-alerts").inner_text()

    # Published during the outage, shown once the server is back, by itself.
    _publish(editor, commune, Post.Kind.NEWS, title="Fermeture exceptionnelle du stade", summary="Ce week-end.")
    live_server_asgi.start()
    started = time.monotonic()
    slides.get_by_text("Fermeture exceptionnelle du stade").wait_for(state="attached", timeout=20000)
    caught_up = time.monotonic() - started
    page.wait_for_function("() => document.getElementById('panel-status').textContent === ''", timeout=5000)
    assert page.evaluate("() => window.notReloaded") is True
    print(f"panel caught up {caught_up:.2f} s after the restart")
    # Network errors during the outage are expected; nothing else is.
    assert all("net::ERR_" in error for error in page.watcher.console_errors), page.watcher.console_errors
    assert not page.watcher.page_errors
