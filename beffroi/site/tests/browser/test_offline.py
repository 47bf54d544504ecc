"""The installable app reads its last pages offline (service worker)."""

import pytest

from beffroi.core.models import Membership
from beffroi.info.models import Post
from beffroi.info.services import post_create, post_transition
from conftest import make_staff

pytestmark = pytest.mark.browser


def test_pages_already_read_stay_readable_offline(live_server_asgi, commune, new_page):
    editor = make_staff(commune, Membership.Role.EDITOR)
    post = post_create(
        actor=editor, commune=commune, kind=Post.Kind.NEWS, fields={"title": "Collecte des encombrants", "summary": "Mardi."}
    )
    post_transition(actor=editor, post=post, action="publish")
    page = new_page(live_server_asgi.url)
    page.goto("/")
    # Wait for the service worker to take control, then read two pages with it.
    page.evaluate("navigator.serviceWorker.ready")
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.goto("/")
    page.goto(post.get_absolute_url())
    assert "Collecte des encombrants" in page.content()

    page.context.set_offline(True)
    page.goto("/")
    assert "Collecte des encombrants" in page.locator("main").inner_text()
    page.goto(post.get_absolute_url())
    assert page.locator("h1").inner_text() == "Collecte des encombrants"
    # A page never opened says it is offline and points to what is saved.
    page.goto("/travaux/")
    assert page.locator("h1").inner_text() == "Vous êtes hors connexion"
    page.context.set_offline(False)
