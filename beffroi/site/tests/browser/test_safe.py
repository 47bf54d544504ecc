"""The digital safe in a real browser: every page of the beneficiary and of the
professional passes axe-core at 360 and 1280 px with no console error; a
document uploaded with the progress bar comes back whole; a professional's
open page is closed when the beneficiary breaks the link.

The demo data (a beneficiary whose safe the CCAS opened, a social worker of
the CCAS) serve the module; both sign in for real, once.
"""

import io
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from beffroi.safe.access import Viewer
from beffroi.safe.models import Appointment, Contact, Document, Folder, Link
from beffroi.site.tests.browser.pages import check_page
from beffroi.site.tests.browser.test_accessibility import _totp
from demo.builder import DEMO_BENEFICIARY, DEMO_PASSWORD, load_demo

pytestmark = pytest.mark.browser

OWNER_PAGES = (
    "home", "folder", "document", "links", "journal", "my-data", "appointments", "appointment-new",
    "appointment-edit", "contacts", "contact-new", "contact-edit", "notes", "note-new", "account",
)
ANONYMOUS_PAGES = ("create-account", "forgot", "reset-code", "recovery-reset")
PRO_PAGES = ("pro-safes", "pro-open", "pro-safe", "pro-password")


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (900, 600), (40, 110, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


@dataclass
class Site:
    server: object
    pages: dict[str, str] = field(default_factory=dict)
    logins: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def site(module_live_server, tmp_path_factory):
    private = {"BACKEND": "django.core.files.storage.FileSystemStorage",
               "OPTIONS": {"location": str(tmp_path_factory.mktemp("private"))}}
    storage = override_settings(STORAGES={**settings.STORAGES, "private": private})
    storage.enable()
    logins = {login.email: login for login in load_demo()}
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.get(username=DEMO_BENEFICIARY)
    safe = owner.safe
    folder = Folder.objects.get(safe=safe)
    link = Link.objects.get(safe=safe)
    document = _store_demo_document(owner, safe, folder)
    appointment = Appointment.objects.get(safe=safe)
    contact = Contact.objects.get(safe=safe)
    assert document.folder == folder and Viewer(owner).is_owner
    pages = {
        "create-account": reverse("safe:create_account"),
        "forgot": reverse("safe:forgot"),
        "reset-code": reverse("safe:reset_code"),
        "recovery-reset": reverse("safe:recovery_reset"),
        "account": reverse("safe:account"),
        "home": reverse("safe:home"),
        "folder": reverse("safe:folder", kwargs={"folder_id": folder.pk}),
        "document": reverse("safe:document", kwargs={"document_id": document.pk}),
        "links": reverse("safe:links"),
        "journal": reverse("safe:journal"),
        "my-data": reverse("safe:my_data"),
        "appointments": reverse("safe:records", kwargs={"kind": "rendez-vous"}),
        "appointment-new": reverse("safe:record_new", kwargs={"kind": "rendez-vous"}),
        "appointment-edit": reverse("safe:record_edit", kwargs={"kind": "rendez-vous", "pk": appointment.pk}),
        "contacts": reverse("safe:records", kwargs={"kind": "contacts"}),
        "contact-new": reverse("safe:record_new", kwargs={"kind": "contacts"}),
        "contact-edit": reverse("safe:record_edit", kwargs={"kind": "contacts", "pk": contact.pk}),
        "notes": reverse("safe:records", kwargs={"kind": "notes"}),
        "note-new": reverse("safe:record_new", kwargs={"kind": "notes"}),
        "pro-safes": reverse("safe:pro_safes"),
        "pro-open": reverse("safe:pro_open"),
        "pro-safe": reverse("safe:pro_safe", kwargs={"link_id": link.pk}),
        "pro-password": reverse("safe:pro_password", kwargs={"link_id": link.pk}),
    }
    yield Site(server=module_live_server, pages=pages, logins=logins)
    storage.disable()


def _store_demo_document(owner, safe, folder) -> Document:
    """A photo in the shared folder, through the same handler as an upload."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)
    response = client.post(reverse("safe:upload"), {
        "fichier": SimpleUploadedFile("quittance.jpg", _jpeg()), "name": "Quittance de loyer", "folder": folder.pk,
    })
    assert response.status_code == 302
    return Document.objects.get(safe=safe)


def _state(browser, site, sign_in) -> dict:
    context = browser.new_context(base_url=site.url)
    page = context.new_page()
    sign_in(page)
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture(scope="module")
def owner_state(site, browser):
    def sign_in(page):
        page.goto(reverse("account_login"))
        page.get_by_label("Adresse électronique ou identifiant").fill(DEMO_BENEFICIARY)
        page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Se connecter", exact=True).click()
        page.wait_for_url("**" + reverse("safe:home"))  # a beneficiary lands in their safe

    return _state(browser, site, sign_in)


@pytest.fixture(scope="module")
def pro_state(site, browser):
    login = site.logins["social@ccas-haisnes.demo"]

    def sign_in(page):
        page.goto(reverse("account_login"))
        page.get_by_label("Adresse électronique ou identifiant").fill(login.email)
        page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Se connecter", exact=True).click()
        page.wait_for_url("**" + reverse("mfa_authenticate"))
        page.get_by_label("Code de vérification").fill(_totp(login.totp_secret))
        page.get_by_role("button", name="Se connecter", exact=True).click()
        page.wait_for_url("**" + reverse("safe:pro_safes"))  # a social worker lands on the safes they accompany

    return _state(browser, site, sign_in)


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_safe_anonymous_page(request, site, new_page, name):
    page = new_page(site.url)
    assert page.goto(site.pages[name]).status == 200
    check_page(page, request.node.name)


def test_the_create_account_page_with_errors(request, site, new_page):
    page = new_page(site.url)
    url = site.url + site.pages["create-account"]
    page.goto(url)
    page.watcher.expect_failure(url)
    page.get_by_label("Identifiant").fill("é")
    with page.expect_navigation():
        page.get_by_role("button", name="Ouvrir mon coffre").click()
    assert page.locator(".field--error").count() >= 1
    check_page(page, request.node.name)


@pytest.mark.parametrize("name", OWNER_PAGES)
def test_safe_owner_page(request, site, new_page, owner_state, name):
    page = new_page(site.url, storage_state=owner_state)
    response = page.goto(site.pages[name])
    assert response.status == 200, f"{name}: {response.status}"
    check_page(page, request.node.name)


@pytest.mark.parametrize("name", PRO_PAGES)
def test_safe_professional_page(request, site, new_page, pro_state, name):
    page = new_page(site.url, storage_state=pro_state)
    response = page.goto(site.pages[name])
    assert response.status == 200, f"{name}: {response.status}"
    if name == "pro-safe":
        assert "Quittance de loyer" in page.content()  # shared through the folder
    check_page(page, request.node.name)


def _deposit(page, path, *, name: str, address: str):
    """Fill the safe's upload form with ``path`` and ``name``, send it; the request that carried the file."""
    page.get_by_label("Document (PDF, photo JPEG, PNG ou HEIC)").set_input_files(str(path))
    page.get_by_label("Nom (facultatif)").fill(name)
    with page.expect_navigation(), page.expect_request(address) as sent:
        page.get_by_role("button", name="Déposer", exact=True).click()
    assert page.get_by_text("Document déposé.").is_visible()
    return sent.value


def test_an_upload_with_its_progress_bar(request, site, new_page, owner_state, tmp_path):
    page = new_page(site.url, storage_state=owner_state)
    page.goto(site.pages["home"])
    path = tmp_path / "avis.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"0" * 2_000_000 + b"\n%%EOF\n")
    sent = _deposit(page, path, name="Avis d’imposition", address="**/coffre/documents/envoyer/")
    # The file went as the body, its details in a header: nothing to parse on the server.
    assert sent.headers["content-type"] == "application/octet-stream" and "avis.pdf" in sent.headers["x-document"]
    page.get_by_role("link", name="Avis d’imposition").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger").click()
    saved = tmp_path / "back.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == path.read_bytes()
    check_page(page, request.node.name)


def test_without_the_uploader_the_form_posts_the_file(request, site, new_page, owner_state, tmp_path):
    """The uploader's script is not there (an old phone, a script blocked): the form posts as usual."""
    page = new_page(site.url, storage_state=owner_state)
    page.route("**/safe/upload*.js", lambda route: route.fulfill(status=200, content_type="text/javascript", body=""))
    page.goto(site.pages["home"])
    path = tmp_path / "quittance.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"1" * 300_000 + b"\n%%EOF\n")
    sent = _deposit(page, path, name="Quittance d’octobre", address="**/coffre/documents/ajouter/")
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert page.get_by_role("link", name="Quittance d’octobre").is_visible()
    check_page(page, request.node.name)


def test_the_recovery_codes_page(request, site, new_page, owner_state):
    """New codes from « Mon compte »: shown once, with a button that prints them."""
    page = new_page(site.url, storage_state=owner_state)
    page.goto(site.pages["account"])
    page.get_by_label("Votre mot de passe").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Créer de nouveaux codes à imprimer").click()
    assert page.locator("ol code").count() == 5
    assert page.get_by_role("button", name="Imprimer les codes").is_visible()
    check_page(page, request.node.name)


def test_a_waiting_password_opens_only_the_shared_page(request, site, new_page, owner_state):
    """A professional set a password without the beneficiary's code: whoever signs in with it sees only
    what is shared with the CCAS; the beneficiary sees the request on their home, and cancels it."""
    from django.contrib.auth import get_user_model

    from beffroi.safe.services.assisted import assisted_reset_wait, waiting_reset_cancel

    owner = get_user_model().objects.get(username=DEMO_BENEFICIARY)
    link = Link.objects.get(safe=owner.safe)
    social_worker = get_user_model().objects.get(email="social@ccas-haisnes.demo")
    provisional = "Provisoire-choisi-2026"
    waiting = assisted_reset_wait(actor=social_worker, organisation=link.organisation, safe=owner.safe,
                                  password=provisional)
    try:
        page = new_page(site.url)
        page.goto(reverse("account_login"))
        page.get_by_label("Adresse électronique ou identifiant").fill(DEMO_BENEFICIARY)
        page.get_by_label("Mot de passe").fill(provisional)
        page.get_by_role("button", name="Se connecter", exact=True).click()
        page.wait_for_url("**" + reverse("safe:home"))
        page.get_by_role("heading", name="Mon coffre-fort : accès limité").wait_for()
        assert "Quittance de loyer" in page.content()  # shared through the folder
        check_page(page, request.node.name + "-limited")

        mine = new_page(site.url, storage_state=owner_state)
        mine.goto(site.pages["home"])
        assert mine.get_by_role("button", name="Annuler le mot de passe provisoire").is_visible()
        check_page(mine, request.node.name + "-owner")
    finally:
        waiting_reset_cancel(safe=owner.safe, actor=owner, waiting_id=waiting.pk)


def test_an_open_professional_page_closes_when_the_link_breaks(request, site, new_page, pro_state):
    """Last of the module: it breaks the demo link."""
    from django.contrib.auth import get_user_model

    from beffroi.safe.services.links import link_break

    page = new_page(site.url, storage_state=pro_state)
    with page.expect_response(lambda response: "/flux/coffre" in response.url):
        page.goto(site.pages["pro-safe"])
    assert "Quittance de loyer" in page.content()
    owner = get_user_model().objects.get(username=DEMO_BENEFICIARY)
    link_break(actor=owner, link=Link.objects.get(safe=owner.safe))
    page.get_by_role("heading", name="Lien rompu").wait_for(timeout=3000)
    assert "Quittance de loyer" not in page.content()
    assert page.get_by_role("alert").inner_text().startswith("Le lien avec ce coffre vient d’être rompu")
    check_page(page, request.node.name)
