"""Every public page and every back-office form, in a real browser: axe-core
finds no violation (WCAG 2.0/2.1 A and AA, best practices), nothing scrolls
sideways at 360 px, no console error, no CSP violation.

One live server and one set of demo data (loaded through the services) serve
the whole module; the back office is opened with a session from a real
sign-in (password, then TOTP code), done once.
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.urls import reverse
from django.utils import timezone

from beffroi.core.models import Membership, Sector, Service
from beffroi.info.models import Post, Screen, Topic
from beffroi.info.services import post_create
from beffroi.site.tests.browser.pages import axe_violations, check_page
from conftest import STAFF_PASSWORD, make_staff
from demo.builder import DEMO_PASSWORD, load_demo

pytestmark = pytest.mark.browser

# Names of the pages built by the ``site`` fixture.
PUBLIC_PAGES = (
    "home", "news-list", "news-with-image", "news-filter-error", "agenda", "agenda-month", "event", "works-list",
    "works", "alerts", "alert", "notifications", "sitemap", "accessibility", "legal", "privacy", "api-docs",
    "offline", "not-found", "panel", "login",
)
BACKOFFICE_PAGES = (
    "dashboard", "post-list", "new-news", "new-event", "new-works", "new-alert", "edit-draft", "edit-published",
    "delete-post", "topics", "topic-new", "topic-edit", "sectors", "sector-new", "sector-edit", "services",
    "service-edit", "panels", "panel-new", "panel-edit", "staff", "staff-invite", "membership", "commune",
    "journal", "account-security",
)


@dataclass
class Site:
    server: object
    public: dict[str, str] = field(default_factory=dict)
    backoffice: dict[str, str] = field(default_factory=dict)
    logins: dict[str, object] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def site(module_live_server):
    """The demo communes (Haisnes and Douvrin, loaded through the services),
    a draft, and an agent who has not enrolled a second factor yet."""
    logins = {login.email: login for login in load_demo()}
    admin = Membership.objects.get(organisation__slug="haisnes", user__username="admin@haisnes.demo")
    commune = admin.organisation
    logins["newcomer"] = make_staff(commune, Membership.Role.AGENT, email="nouvel-agent@haisnes.demo")
    draft = post_create(
        actor=admin.user,
        commune=commune,
        kind=Post.Kind.EVENT,
        fields={
            "title": "Repas des aînés",
            "summary": "Inscriptions en mairie avant la fin du mois.",
            "starts_at": timezone.now() + timedelta(days=20),
            "place": "Salle des fêtes",
        },
    )
    posts = Post.objects.of(commune).visible()
    with_image = posts.exclude(image="").get()
    last_event = posts.filter(kind=Post.Kind.EVENT).order_by("starts_at").last()
    public = {
        "home": "/",
        "news-list": reverse("info:news_list"),
        "news-with-image": with_image.get_absolute_url(),
        "news-filter-error": reverse("info:news_list") + "?theme=inconnu",
        "agenda": reverse("info:agenda"),
        "agenda-month": reverse("info:agenda") + "?mois=" + timezone.localtime(last_event.starts_at).strftime("%Y-%m"),
        "event": last_event.get_absolute_url(),
        "works-list": reverse("info:works_list"),
        "works": posts.filter(kind=Post.Kind.WORKS).first().get_absolute_url(),
        "alerts": reverse("info:alerts"),
        "alert": posts.get(kind=Post.Kind.ALERT).get_absolute_url(),
        "notifications": reverse("info:notifications"),
        "sitemap": reverse("site:sitemap"),
        "accessibility": reverse("site:accessibility"),
        "legal": reverse("site:legal"),
        "privacy": reverse("site:privacy"),
        "api-docs": reverse("site:api_docs"),
        "offline": reverse("site:offline"),
        "not-found": "/cette-page-n-existe-pas/",
        "panel": reverse("info:panel", kwargs={"slug": "mairie"}),
        "login": reverse("account_login"),
    }
    mine = {"organisation": commune}
    editor = Membership.objects.get(organisation=commune, user__username="editeur@haisnes.demo")
    backoffice = {
        "dashboard": reverse("backoffice:home"),
        "post-list": reverse("backoffice:post_list"),
        **{f"new-{kind}": reverse("backoffice:post_create", args=[kind]) for kind in Post.Kind.values},
        "edit-draft": reverse("backoffice:post_edit", args=[draft.pk]),
        "edit-published": reverse("backoffice:post_edit", args=[with_image.pk]),
        "delete-post": reverse("backoffice:post_delete", args=[draft.pk]),
        "topics": reverse("backoffice:topic_list"),
        "topic-new": reverse("backoffice:topic_create"),
        "topic-edit": reverse("backoffice:topic_edit", args=[Topic.objects.filter(**mine).first().pk]),
        "sectors": reverse("backoffice:sector_list"),
        "sector-new": reverse("backoffice:sector_create"),
        "sector-edit": reverse("backoffice:sector_edit", args=[Sector.objects.filter(**mine).first().pk]),
        "services": reverse("backoffice:service_list"),
        "service-edit": reverse("backoffice:service_edit", args=[Service.objects.filter(**mine).first().pk]),
        "panels": reverse("backoffice:screen_list"),
        "panel-new": reverse("backoffice:screen_create"),
        "panel-edit": reverse("backoffice:screen_edit", args=[Screen.objects.get(slug="mairie", **mine).pk]),
        "staff": reverse("backoffice:staff_list"),
        "staff-invite": reverse("backoffice:staff_invite"),
        "membership": reverse("backoffice:membership_edit", args=[editor.pk]),
        "commune": reverse("backoffice:commune"),
        "journal": reverse("backoffice:journal"),
        "account-security": reverse("mfa_index"),
    }
    return Site(server=module_live_server, public=public, backoffice=backoffice, logins=logins)


def _totp(secret: str) -> str:
    """The current code; near the end of a period, wait for the next one so
    that the code is still valid when the server checks it."""
    remaining = app_settings.TOTP_PERIOD - time.time() % app_settings.TOTP_PERIOD
    if remaining < 3:
        time.sleep(remaining + 0.1)
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def sign_in(page, login, *, on_each_step=None) -> None:
    """Password, then the authenticator code, as an agent does."""
    page.goto(reverse("account_login"))
    page.get_by_label("Adresse électronique ou identifiant").fill(login.email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url("**" + reverse("mfa_authenticate"))
    if on_each_step:
        on_each_step(page)
    page.get_by_label("Code de vérification").fill(_totp(login.totp_secret))
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url("**" + reverse("backoffice:home"))


@pytest.fixture(scope="module")
def admin_state(site, browser):
    """The storage state (session cookie) of an administrator signed in for real, once."""
    context = browser.new_context(base_url=site.url)
    page = context.new_page()
    sign_in(page, site.logins["admin@haisnes.demo"])
    state = context.storage_state()
    context.close()
    return state


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_page(request, site, new_page, name):
    page = new_page(site.url)
    url = site.url + site.public[name]
    page.watcher.expect_failure(url)  # the 404 page and the filter error answer 404 and 400
    response = page.goto(url)
    expected = {"not-found": 404, "news-filter-error": 400}.get(name, 200)
    assert response.status == expected
    check_page(page, request.node.name)


@pytest.mark.parametrize("name", BACKOFFICE_PAGES)
def test_backoffice_page(request, site, new_page, admin_state, name):
    page = new_page(site.url, storage_state=admin_state)
    response = page.goto(site.backoffice[name])
    assert response.status == 200, f"{name}: {response.status} at {page.url}"
    check_page(page, request.node.name)


@pytest.mark.parametrize("name", ["new-alert", "new-event", "staff-invite", "sector-new", "panel-new"])
def test_backoffice_form_with_errors(request, site, new_page, admin_state, name):
    """The form sent empty comes back with its errors, still accessible."""
    page = new_page(site.url, storage_state=admin_state)
    url = site.url + site.backoffice[name]
    page.goto(url)
    page.watcher.expect_failure(url)  # answered 400
    with page.expect_navigation():
        page.locator("main form.form button[type=submit]").last.click()
    assert page.locator(".field--error, .form-errors").count() > 0
    check_page(page, request.node.name)


def test_sign_in_pages(request, site, new_page):
    """The real sign-in of an editor; the code page is checked like the others."""
    page = new_page(site.url)
    sign_in(page, site.logins["editeur@haisnes.demo"], on_each_step=lambda p: check_page(p, request.node.name))
    assert page.get_by_role("heading", level=1).inner_text() == "Tableau de bord"


def test_second_factor_enrolment_page(request, site, new_page):
    """An agent without a second factor is sent to enrol one: that page too."""
    page = new_page(site.url)
    page.goto(reverse("account_login"))
    page.get_by_label("Adresse électronique ou identifiant").fill(site.logins["newcomer"].email)
    page.get_by_label("Mot de passe").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url("**" + reverse("mfa_activate_totp"))
    check_page(page, request.node.name)


def test_the_checks_see_what_they_look_for(site, new_page):
    """A missing alt text is reported by axe, an inline script without nonce by the CSP."""
    page = new_page(site.url)
    page.goto(reverse("site:legal"))
    page.evaluate("() => document.querySelector('main').append(Object.assign(document.createElement('img'), {src: '/icone-192.png'}))")
    assert "image-alt" in {violation["id"] for violation in axe_violations(page)}
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate(
            "() => document.body.append(Object.assign(document.createElement('script'), {textContent: 'window.injected = 1'}))"
        )
    assert page.evaluate("() => window.injected") is None
    assert page.watcher.csp_violations()


@pytest.mark.parametrize("path", ["/", "/gestion/"])
def test_skip_link_is_first_and_moves_focus_to_main(site, new_page, admin_state, path):
    page = new_page(site.url, storage_state=admin_state)
    page.goto(path)
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => ({cls: document.activeElement.className, text: document.activeElement.textContent,"
        " outline: getComputedStyle(document.activeElement).outlineStyle,"
        " top: document.activeElement.getBoundingClientRect().top})"
    )
    assert focused["cls"] == "skip-link"
    assert focused["text"] == "Aller au contenu"
    assert focused["outline"] != "none", "the focused skip link must be visibly outlined"
    assert focused["top"] >= 0, "the focused skip link must be on screen"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'contenu'")
    assert page.evaluate("() => document.activeElement.tagName") == "MAIN"
    assert not page.watcher.problems()
