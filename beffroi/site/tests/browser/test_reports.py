"""Signalements in a real browser: every page of the inhabitants and of the
agents passes axe-core at 360 and 1280 px with no console error; a report
submitted from the form shows in an agent's open console within a second;
the author's follow-up page follows the agent's acknowledgement live.

One live server and the demo data serve the whole module (as in
test_accessibility.py); agents sign in for real (password, then TOTP), once.

Map tiles come from OpenStreetMap's servers, outside the test: every page
with a map answers their requests itself with a blank tile (``blank_tiles``),
so that the tests neither depend on the network nor load OSM's servers, and
a tile that could not load does not show as a console error. Leaflet itself
is served from our static files, as in production.
"""

import io
import re
import time
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.templatetags.static import static
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from beffroi.core.images import sanitize_image
from beffroi.core.models import Membership, User
from beffroi.reports.models import Category, CategoryQuestion, OnCallShift, Report, RoutingRule
from beffroi.reports.services.agents import report_agent_photo, report_message, report_moderate, report_transition
from beffroi.reports.services.submission import report_follow, report_submit
from beffroi.site.tests.browser.pages import WIDE, check_page, watch
from beffroi.site.tests.browser.test_accessibility import sign_in
from demo.builder import load_demo

pytestmark = pytest.mark.browser

PUBLIC_PAGES = ("form", "public-list", "public-detail", "follow-new", "follow", "follower-new", "follower")
CONSOLE_PAGES = (
    "queue", "queue-filtered", "detail", "detail-new", "map", "map-all", "dashboard", "dashboard-year",
    "settings", "categories", "category-new", "category-edit", "category-delete", "questions", "question-new",
    "question-edit", "rules", "rule-new", "rule-edit",
    "shifts", "shifts-past", "shift-new", "shift-edit",
)
FORMS_WITH_ERRORS = ("category-new", "question-new", "rule-new", "shift-new")


def _png(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(buffer, "PNG")
    return buffer.getvalue()


BLANK_TILE = _png((232, 234, 237))
TILE_ORIGIN = "/".join(settings.MAP_TILE_URL.split("/")[:3])


def blank_tiles(page) -> None:
    """Answer the map's tile requests with a blank tile (see the module's docstring)."""
    page.route(
        re.compile("^" + re.escape(TILE_ORIGIN) + "/"),
        lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_TILE),
    )


def _jpeg(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(buffer, "JPEG")
    return buffer.getvalue()


@dataclass
class Site:
    server: object
    public: dict[str, str] = field(default_factory=dict)
    console: dict[str, str] = field(default_factory=dict)
    logins: dict[str, object] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def site(module_live_server, tmp_path_factory):
    """The demo (with its four reports), plus a report followed through its
    secret link, acknowledged, answered, with approved photos and a public text,
    and followed by someone else too (a follower's link: the public view)."""
    private = {"BACKEND": "django.core.files.storage.FileSystemStorage",
               "OPTIONS": {"location": str(tmp_path_factory.mktemp("private"))}}
    storage = override_settings(STORAGES={**settings.STORAGES, "private": private})
    storage.enable()
    logins = {login.email: login for login in load_demo()}
    haisnes = Membership.objects.get(user__username="admin@haisnes.demo").organisation
    agent = User.objects.get(username="agent@haisnes.demo")
    lamp = Category.objects.get(organisation=haisnes, slug="lampadaire")
    followed = report_submit(
        commune=haisnes, category=lamp, description="Le lampadaire devant l’école clignote toute la nuit.",
        latitude=50.5061, longitude=2.7958, address="Rue de l’École", photos=[sanitize_image(_jpeg("#557799"))],
        answers={"etat": ["clignote"]},
    )
    report = followed.report
    report_transition(actor=agent, report=report, action="acknowledge", text="Nous passons demain matin.")
    report_message(actor=agent, report=report, kind="note", text="Vérifier l’armoire électrique.")
    report_message(actor=agent, report=report, kind="question", text="Clignote-t-il aussi en journée ?")
    photo = report_agent_photo(actor=agent, report=report, image=sanitize_image(_jpeg("#997755")))
    report_moderate(actor=agent, report=report, public_text="Intervention prévue demain.",
                    public_photo_ids=list(report.photos.values_list("pk", flat=True)))
    assert photo.report_id == report.pk
    newest = Report.objects.received_by(haisnes).filter(status=Report.Status.NEW).first()
    follow = reverse("reports:follow", kwargs={"token": followed.token})
    follower = reverse("reports:follow", kwargs={"token": report_follow(report=report)})
    public = {
        "form": reverse("reports:form"),
        "public-list": reverse("reports:public_list"),
        "public-detail": reverse("reports:public_detail", kwargs={"code": report.code}),
        "follow-new": follow + "?nouveau=1",
        "follow": follow,
        "follower-new": follower + "?nouveau=1",
        "follower": follower,
    }
    mine = {"organisation": haisnes}
    category = Category.objects.get(slug="nid-de-poule", **mine)
    console = {
        "queue": reverse("reports:console"),
        "queue-filtered": reverse("reports:console") + "?etat=tous&age=7",
        "detail": reverse("reports:console_detail", kwargs={"code": report.code}),
        "detail-new": reverse("reports:console_detail", kwargs={"code": newest.code}),
        "map": reverse("reports:console_map"),
        "map-all": reverse("reports:console_map") + "?etat=tous",
        "dashboard": reverse("reports:console_dashboard"),
        "dashboard-year": reverse("reports:console_dashboard") + "?periode=365",
        "settings": reverse("reports:console_settings"),
        "categories": reverse("reports:console_category_list"),
        "category-new": reverse("reports:console_category_create"),
        "category-edit": reverse("reports:console_category_edit", args=[category.pk]),
        "category-delete": reverse("reports:console_category_delete", args=[category.pk]),
        "questions": reverse("reports:console_categoryquestion_list"),
        "question-new": reverse("reports:console_categoryquestion_create"),
        "question-edit": reverse(
            "reports:console_categoryquestion_edit",
            args=[CategoryQuestion.objects.filter(category__organisation=haisnes, kind="singlevaluelist").first().pk],
        ),
        "rules": reverse("reports:console_routingrule_list"),
        "rule-new": reverse("reports:console_routingrule_create"),
        "rule-edit": reverse("reports:console_routingrule_edit", args=[RoutingRule.objects.filter(**mine).first().pk]),
        "shifts": reverse("reports:console_oncallshift_list"),
        "shifts-past": reverse("reports:console_oncallshift_list") + "?passees=1",
        "shift-new": reverse("reports:console_oncallshift_create"),
        "shift-edit": reverse(
            "reports:console_oncallshift_edit", args=[OnCallShift.objects.filter(service__organisation=haisnes).last().pk]
        ),
    }
    yield Site(server=module_live_server, public=public, console=console, logins=logins)
    storage.disable()


def _state(browser, site, email):
    context = browser.new_context(base_url=site.url)
    page = context.new_page()
    sign_in(page, site.logins[email])
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture(scope="module")
def admin_state(site, browser):
    return _state(browser, site, "admin@haisnes.demo")


@pytest.fixture(scope="module")
def agent_state(site, browser):
    return _state(browser, site, "agent@haisnes.demo")


def _open_with_stream(page, path, stream):
    """Open a page and wait until its event stream is connected."""
    with page.expect_response(lambda response: stream in response.url):
        page.goto(path)


# --- Every page -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_reports_public_page(request, site, new_page, name):
    page = new_page(site.url)
    blank_tiles(page)
    response = page.goto(site.public[name])
    assert response.status == 200
    if name == "form":
        page.locator("#report-map .leaflet-tile-loaded").first.wait_for()
    check_page(page, request.node.name)


@pytest.mark.parametrize("name", CONSOLE_PAGES)
def test_reports_console_page(request, site, new_page, admin_state, name):
    page = new_page(site.url, storage_state=admin_state)
    blank_tiles(page)
    response = page.goto(site.console[name])
    assert response.status == 200, f"{name}: {response.status} at {page.url}"
    if name.startswith("map"):
        page.locator("#console-map .map-pin").first.wait_for()
        page.get_by_role("status").filter(has_text="sur la carte").wait_for()
    check_page(page, request.node.name)


def test_the_report_form_without_its_map(request, site, new_page):
    """Leaflet does not load: the map stays hidden, the address is enough."""
    page = new_page(site.url)
    leaflet = site.url + static("reports/vendor/leaflet-1.9.4/leaflet.js")
    page.route(leaflet, lambda route: route.abort())
    page.watcher.expect_failure(leaflet)
    page.goto(site.public["form"])
    assert page.locator("#report-map").is_hidden()
    assert page.get_by_label("Adresse ou repère").is_visible()
    check_page(page, request.node.name)


def test_the_report_form_with_errors(request, site, new_page):
    page = new_page(site.url)
    blank_tiles(page)
    url = site.url + site.public["form"]
    page.goto(url)
    page.watcher.expect_failure(url)  # answered 400
    with page.expect_navigation():
        page.get_by_role("button", name="Envoyer le signalement").click()
    summary = page.locator(".form-errors")
    assert "Le signalement n’a pas pu être envoyé" in summary.inner_text()
    assert page.get_by_label("Décrivez le problème").get_attribute("aria-invalid") == "true"
    check_page(page, request.node.name)


@pytest.mark.parametrize("name", FORMS_WITH_ERRORS)
def test_settings_form_with_errors(request, site, new_page, admin_state, name):
    page = new_page(site.url, storage_state=admin_state)
    url = site.url + site.console[name]
    page.goto(url)
    page.watcher.expect_failure(url)  # answered 400
    with page.expect_navigation():
        page.locator("main form.form button[type=submit]").last.click()
    assert page.locator(".field--error").count() > 0
    check_page(page, request.node.name)


def test_office_hours_with_errors(request, site, new_page, admin_state):
    page = new_page(site.url, storage_state=admin_state)
    url = site.url + site.console["settings"]
    page.goto(url)
    page.watcher.expect_failure(url)
    page.get_by_label("Fermeture de la 1re plage").first.fill("07:00")  # Monday closes before it opens
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer").click()
    monday = page.get_by_role("group", name="Lundi")
    assert "doit suivre l’ouverture" in monday.inner_text()
    check_page(page, request.node.name)


# --- Live ---------------------------------------------------------------------------------------

# Records, in the console, when each row first appears in the queue (epoch ms).
SEEN_ROWS = """() => {
  window.seenRows = {};
  const body = document.querySelector("#queue tbody");
  const note = () => body.querySelectorAll("tr[data-code]").forEach((row) => {
    if (!(row.dataset.code in window.seenRows)) window.seenRows[row.dataset.code] = Date.now();
  });
  note();
  new MutationObserver(note).observe(body, {childList: true});
}"""


@pytest.fixture
def author_page(browser, site):
    """An anonymous page whose requests the service worker does not handle:
    with it, Chromium reports the submission's redirect as the final answer,
    and its timing would be the follow-up page's (the worker leaves POST
    requests alone: nothing else changes)."""
    context = browser.new_context(
        base_url=site.url, viewport=WIDE, locale="fr-FR", timezone_id="Europe/Paris", service_workers="block"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    watch(page)
    yield page
    context.close()


def test_a_report_shows_in_the_agents_console_within_a_second(request, site, new_page, agent_state, author_page):
    console = new_page(site.url, storage_state=agent_state)
    _open_with_stream(console, site.console["queue"], "/flux/gestion")
    console.get_by_role("status").filter(has_text="En direct").wait_for()
    console.evaluate(SEEN_ROWS)
    assert console.locator("#console-announce").get_attribute("aria-live") == "assertive"

    author = author_page  # another browser context, anonymous
    blank_tiles(author)
    author.goto(site.public["form"])
    author.get_by_label("De quoi s’agit-il ?").select_option(label="Lampadaire éteint")
    # Only this category's questions show; the lamp's state is required.
    assert author.locator("fieldset.questions:visible").count() == 1
    author.get_by_label("Le lampadaire est…").select_option(label="clignotant")
    author.locator("#report-map .leaflet-tile-loaded").first.wait_for()
    author.get_by_role("button", name="Placer le repère au centre de la carte").click()
    assert author.get_by_role("status").filter(has_text="Repère placé").is_visible()
    author.get_by_label("Adresse ou repère").fill("Angle de la rue Jean Jaurès")
    author.get_by_label("Décrivez le problème").fill("Le lampadaire est éteint depuis hier soir.")
    clicked_ms = time.time() * 1000
    with author.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/signaler/")) as sent:
        author.get_by_role("button", name="Envoyer le signalement").click()
    response = sent.value
    assert response.status == 302
    timing = response.request.timing
    responded_ms = timing["startTime"] + timing["responseStart"]  # when the answer reached the browser
    author.wait_for_url("**/suivi/**")
    code = author.locator(".facts dd strong").first.inner_text()

    console.wait_for_function("(code) => window.seenRows[code]", arg=code, timeout=5000)
    seen_ms = console.evaluate("(code) => window.seenRows[code]", code)
    delay = (seen_ms - responded_ms) / 1000
    print(f"report {code} shown {delay:.3f} s after the answer to the submission ({(seen_ms - clicked_ms) / 1000:.3f} s after the click)")
    assert delay < 1.0, f"the console showed the report {delay:.3f} s after the submission's answer"

    row = console.locator(f'#queue tbody tr[data-code="{code}"]')
    assert row.get_attribute("class") == "queue__new"  # highlighted
    assert "vient d’arriver" in row.inner_text() and "Lampadaire éteint" in row.inner_text()
    assert console.locator("#queue tbody tr").first.get_attribute("data-code") == code  # at the top
    announce = console.locator("#console-announce")
    assert announce.inner_text() == f"Nouveau signalement {code} : Éclairage public › Lampadaire éteint."
    # The cue is as accessible as the rest of the page.
    check_page(console, request.node.name + "-console")
    check_page(author, request.node.name + "-author")


def test_the_authors_page_follows_an_acknowledgement_live(request, site, new_page, agent_state):
    haisnes = Membership.objects.get(user__username="admin@haisnes.demo").organisation
    submission = report_submit(
        commune=haisnes, category=Category.objects.get(organisation=haisnes, slug="lampadaire"),
        description="Lampadaire couché sur le trottoir.", address="Place de la mairie", answers={"etat": ["eteint"]},
    )
    author = new_page(site.url)
    _open_with_stream(author, reverse("reports:follow", kwargs={"token": submission.token}), "/flux/signalement")
    author.evaluate("() => { window.notReloaded = true; }")
    status = author.locator("#report-status")
    assert status.inner_text() == "Nouveau"

    agent = new_page(site.url, storage_state=agent_state)
    agent.goto(reverse("reports:console_detail", kwargs={"code": submission.report.code}))
    with agent.expect_navigation():
        agent.get_by_role("button", name="Prendre en compte").click()
    assert "pris en compte" in agent.locator(".message--success").inner_text()

    author.wait_for_function("() => document.getElementById('report-status').textContent === 'Pris en compte'",
                             timeout=3000)
    assert author.evaluate("() => window.notReloaded") is True
    assert "status--acknowledged" in status.get_attribute("class")
    assert "l’état : Pris en compte" in author.locator("#follow-live").inner_text()
    author.locator("#timeline").get_by_text("Changement d’état").wait_for()
    check_page(author, request.node.name)
