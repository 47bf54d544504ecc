"""The safe cannot be turned against anyone: SMS floods from many addresses,
links in reminders, disk filled by empty accounts, return addresses,
streams of broken links, names that lie about themselves."""

import asyncio
import re
from datetime import date, timedelta

import aiohttp
import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from beffroi.core.models import Counter
from beffroi.notify.sms.models import SmsMessage
from beffroi.safe.access import Viewer
from beffroi.safe.keys import safe_key, seal_text
from beffroi.safe.models import Document, Folder, Link, Safe
from beffroi.safe.services import links as link_services
from beffroi.safe.services.accounts import safe_open
from beffroi.safe.services.documents import document_name, folder_create, folder_name
from beffroi.safe.services.records import read, record_save
from beffroi.safe.services.reminders import hand_over_due
from beffroi.safe.tasks import push_reminder
from beffroi.safe.tests.conftest import PASSWORD, pdf_bytes, verify_phone
from beffroi.safe.tests.test_documents import upload
from conftest import sign_in_with_second_factor

VICTIM = "06 99 88 77 66"
VICTIM_E164 = "+33699887766"


def _from(address: str) -> Client:
    """A client at ``address``, as uvicorn's --proxy-headers sets REMOTE_ADDR from nginx's X-Forwarded-For."""
    return Client(REMOTE_ADDR=address)


def _hours_pass() -> None:
    """The throttles' hourly windows run out (core_counter, and allauth's in the cache); the caps of the day do not."""
    Counter.objects.all().delete()
    caches["default"].clear()


# --- SMS floods --------------------------------------------------------------------------------------


def test_opening_safes_with_someone_elses_number_from_many_addresses(commune, settings):
    for i in range(40):
        response = _from(f"198.51.100.{i}").post("/coffre/creer/", {
            "username": f"flood{i}", "password": PASSWORD, "phone": VICTIM,
        })
        assert response.status_code == 200, i  # each address is under its own throttle
    messages = SmsMessage.objects.filter(to=VICTIM_E164)
    # Only verification codes, and only the number's cap of them.
    assert messages.count() == settings.SMS_DAILY_MAX_VERIFY_PER_NUMBER == 3
    assert set(messages.values_list("purpose", flat=True)) == {"verify"}
    # Asking for resets of all those safes, from as many addresses: never verified, nothing goes.
    for _ in range(3):
        for i in range(40):
            _from(f"203.0.113.{i}").post("/coffre/mot-de-passe-oublie/", {"username": f"flood{i}"})
        _hours_pass()
    assert messages.count() == 3
    # The flooder's safes hold almost nothing (neither verified nor linked).
    assert Safe.objects.filter(owner__username="flood1").get().phone_verified_at is None


def test_one_address_opens_few_safes(commune):
    flooder = _from("198.51.100.7")
    for i in range(5):
        assert flooder.post("/coffre/creer/", {"username": f"suite{i}", "password": PASSWORD}).status_code == 200
    response = flooder.post("/coffre/creer/", {"username": "suite5", "password": PASSWORD})
    assert response.status_code == 429 and "Trop de coffres ouverts" in response.content.decode()
    assert not Safe.objects.filter(owner__username="suite5").exists()


def test_resets_of_a_verified_safe_from_many_addresses_stay_under_the_caps(beneficiary, settings):
    before = SmsMessage.objects.filter(to="+33612345678").count()  # its verification code
    for hour in range(12):  # all day long, from a new address each time
        for i in range(10):
            _from(f"192.0.2.{hour * 10 + i}").post("/coffre/mot-de-passe-oublie/", {"username": "marie.d"})
        _hours_pass()
    codes = SmsMessage.objects.filter(to="+33612345678", purpose="code").count()
    assert before + codes <= settings.SMS_DAILY_MAX_PER_NUMBER
    assert before + codes == settings.SMS_DAILY_MAX_PER_ACCOUNT  # the safe's cap is what stopped it


def test_a_link_code_never_goes_to_an_unverified_number(commune, ccas, social_worker):
    safe = safe_open(username="paul.r", password=PASSWORD, phone=VICTIM)
    link = link_services.link_propose(actor=social_worker, organisation=ccas, safe=safe)
    assert not link.code_hash and not SmsMessage.objects.filter(purpose="code").exists()


# --- Reminders ---------------------------------------------------------------------------------------

FIXED = re.compile(r"Rappel : vous avez un rendez-vous le \d\d/\d\d à \d\dh\d\d\. Détails dans votre coffre-fort\.")


def test_a_reminder_never_carries_a_link_nor_what_the_safe_holds(beneficiary, owner_client):
    safe = beneficiary.safe
    record_save(viewer=Viewer(beneficiary), safe=safe, kind="appointment",
                data={"title": "Urgent : payez sur https://evil.example/caf", "place": "bit.ly/abc ou www.evil.fr"},
                starts_at=timezone.now() + timedelta(hours=3), reminders=[120])
    upload(owner_client, pdf_bytes(), name="http://evil.example/renouveler.pdf",
           expires_on=(date.today() + timedelta(days=40)).isoformat())
    assert hand_over_due(now=timezone.now() + timedelta(days=20)) == 2
    texts = list(SmsMessage.objects.filter(purpose="reminder").values_list("text", flat=True))
    assert len(texts) == 2
    for text in texts:
        assert not re.search(r"https?:|www\.|\w\.(fr|com|ly|example)\b|evil|payez|renouveler", text), text
    appointment_text = next(t for t in texts if "rendez-vous" in t)
    assert FIXED.fullmatch(appointment_text)
    assert re.fullmatch(r"Rappel : un document de votre coffre-fort expire le \d\d/\d\d/\d{4}\. "
                        r"Détails dans votre coffre-fort\.", next(t for t in texts if "document" in t))


def test_an_unverified_number_gets_no_reminder(commune):
    safe = safe_open(username="paul.r", password=PASSWORD, phone=VICTIM)
    record_save(viewer=Viewer(safe.owner), safe=safe, kind="appointment", data={"title": "CAF"},
                starts_at=timezone.now() + timedelta(hours=2), reminders=[60])
    assert hand_over_due(now=timezone.now() + timedelta(hours=1, minutes=5)) == 1
    assert not SmsMessage.objects.filter(purpose="reminder").exists()
    verify_phone(safe)
    record_save(viewer=Viewer(safe.owner), safe=safe, kind="appointment", data={"title": "CAF"},
                starts_at=timezone.now() + timedelta(hours=2), reminders=[60])
    assert hand_over_due(now=timezone.now() + timedelta(hours=1, minutes=5)) == 1
    assert SmsMessage.objects.filter(purpose="reminder", to=VICTIM_E164).count() == 1


def test_the_reminders_push_carries_the_same_fixed_wording(beneficiary, settings):
    from beffroi.safe.services.accounts import safe_push_subscribe
    from fakes.push_service import FakePushService

    with FakePushService() as service:
        settings.PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
        data = service.subscribe().as_json()
        safe_push_subscribe(safe=beneficiary.safe, endpoint=data["endpoint"], **data["keys"])
        record_save(viewer=Viewer(beneficiary), safe=beneficiary.safe, kind="appointment",
                    data={"title": "Voir https://evil.example"}, starts_at=timezone.now() + timedelta(hours=2),
                    reminders=[60])
        hand_over_due(now=timezone.now() + timedelta(hours=1, minutes=5))
        job = DBTaskResult.objects.get(task_path=push_reminder.module_path)
        push_reminder.func(*job.args_kwargs["args"])
        plaintext = service.received[0].plaintext.decode()
        assert "evil" not in plaintext and FIXED.search(plaintext)


# --- Disk ------------------------------------------------------------------------------------------


def test_a_safe_neither_verified_nor_linked_holds_little(settings, commune, ccas, social_worker):
    settings.SAFE_UNVERIFIED_QUOTA_MB = 1
    safe = safe_open(username="paul.r", password=PASSWORD)
    client = Client()
    client.force_login(safe.owner)
    page = client.get("/coffre/").content.decode()
    assert "votre coffre peut contenir 1,0 Mo" in page and "Ensuite, il pourra contenir 600,0 Mo" in page
    big = pdf_bytes() * 400  # about 1.2 MB
    response = upload(client, big, name="gros.pdf")
    assert response.status_code == 302 and not Document.objects.exists()
    # Through the page's uploader too: refused from the declared size, before a byte is read.
    response = client.post("/coffre/documents/envoyer/", big, content_type="application/octet-stream",
                           HTTP_X_DOCUMENT="filename=gros.pdf", HTTP_ACCEPT="application/json")
    assert response.status_code == 413 and not Document.objects.exists()
    # Once an organisation accompanies it, the full quota.
    link = link_services.link_propose(actor=social_worker, organisation=ccas, safe=safe, send_code=False)
    link_services.link_answer(actor=safe.owner, link=link, accept=True)
    upload(client, big, name="gros.pdf")
    assert Document.objects.count() == 1
    assert "peut contenir 1,0 Mo" not in client.get("/coffre/").content.decode()


# --- Return addresses --------------------------------------------------------------------------------


def test_the_share_form_goes_back_only_to_a_page_of_the_site(owner_client, beneficiary, ccas, social_worker):
    link = link_services.link_propose(actor=social_worker, organisation=ccas, safe=beneficiary.safe, send_code=False)
    link_services.link_answer(actor=beneficiary, link=link, accept=True)
    upload(owner_client, pdf_bytes(), name="Bail.pdf")
    document = Document.objects.get()
    item = f"document:{document.pk}"
    url = f"/coffre/liens/{link.pk}/partage/"
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"):
        # Success…
        response = owner_client.post(url, {"item": item, "partager": "1", "retour": evil})
        assert response["Location"] == "/coffre/liens/", evil
        # …and failure (sharing with a link that is no longer active).
        Link.objects.filter(pk=link.pk).update(status=Link.Status.BROKEN)
        response = owner_client.post(url, {"item": item, "partager": "1", "retour": evil})
        assert response["Location"] == "/coffre/liens/", evil
        Link.objects.filter(pk=link.pk).update(status=Link.Status.ACTIVE)
    page = f"/coffre/documents/{document.pk}/"
    assert owner_client.post(url, {"item": item, "partager": "0", "retour": page})["Location"] == page


# --- Streams ------------------------------------------------------------------------------------------


async def _status(url: str, cookie: str) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Cookie": cookie}, timeout=aiohttp.ClientTimeout(total=10)) as response:
            return response.status


@pytest.mark.django_db(transaction=True)
def test_the_stream_of_a_broken_link_does_not_open(live_server_asgi, client, beneficiary, ccas, social_worker):
    link = link_services.link_propose(actor=social_worker, organisation=ccas, safe=beneficiary.safe, send_code=False)
    sign_in_with_second_factor(client, social_worker)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    url = f"{live_server_asgi.url}/flux/coffre?lien={link.pk}"
    assert asyncio.run(_status(url, cookie)) == 403  # proposed, not yet active
    link_services.link_answer(actor=beneficiary, link=link, accept=True)
    assert asyncio.run(_status(url, cookie)) == 200
    link_services.link_break(actor=beneficiary, link=link)
    assert asyncio.run(_status(url, cookie)) == 403


# --- Names ---------------------------------------------------------------------------------------------

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def test_invisible_characters_are_stripped_from_every_name(owner_client, beneficiary):
    key = safe_key(beneficiary.safe)
    # The file's own name (no name given)…
    upload(owner_client, pdf_bytes(), name="facture\u202efdp.exe\u200b.pdf")
    # …and a name given in the form.
    owner_client.post("/coffre/documents/ajouter/", {"fichier": SimpleUploadedFile("x.pdf", pdf_bytes("B")),
                                                     "name": "Relevé\u2066 CAF\u2069\u200f"})
    names = sorted(document_name(d, key) for d in Document.objects.select_related("safe"))
    assert names == ["Relevé CAF", "facturefdp.exe.pdf"]
    document = Document.objects.get(size=len(pdf_bytes("B")))
    owner_client.post(f"/coffre/documents/{document.pk}/", {"name": f"Carte{BIDI} d’identité\t\n", "folder": "",
                                                            "expires_on": ""})
    document.refresh_from_db()
    assert document_name(document, key) == "Carte d’identité"
    folder = folder_create(viewer=Viewer(beneficiary), safe=beneficiary.safe, name="Imp\u2067ôts\u2069\t2025")
    assert folder_name(Folder.objects.get(pk=folder.pk), key) == "Impôts 2025"
    # The names and titles of contacts, notes and appointments too.
    contact = record_save(viewer=Viewer(beneficiary), safe=beneficiary.safe, kind="contact",
                          data={"name": "Mme\u202e Durand\u200b", "note": "Ligne 1\nLigne 2"})
    assert read(contact, key) == {"name": "Mme Durand", "organisation": "", "phone": "", "email": "", "address": "",
                                  "note": "Ligne 1\nLigne 2"}


def test_a_download_never_names_a_file_with_invisible_characters(owner_client, beneficiary):
    upload(owner_client, pdf_bytes(), name="propre.pdf")
    document = Document.objects.get()
    # A name stored before names were cleaned.
    Document.objects.filter(pk=document.pk).update(
        name_sealed=seal_text(safe_key(beneficiary.safe), beneficiary.safe, "document", "avis\u202efdp.exe"))
    disposition = owner_client.get(f"/coffre/documents/{document.pk}/fichier/")["Content-Disposition"]
    assert disposition == "attachment; filename=\"avisfdp.exe.pdf\"; filename*=UTF-8''avisfdp.exe.pdf"
    for character in BIDI:
        assert character not in disposition and f"%{ord(character):X}" not in disposition
