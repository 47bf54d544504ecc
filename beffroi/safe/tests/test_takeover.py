"""Nobody but the beneficiary opens the whole safe.

A professional of a linked organisation tries the whole takeover path: set a
new password from their page, sign in as the beneficiary, read, change or
delete everything. With proof from the beneficiary (a code on the verified
mobile, or a printed recovery code) the password is theirs; without it, the
password waits and opens only what is shared with the organisation, the
beneficiary is told at once and may cancel.
"""

import re
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from beffroi.core.models import JournalEntry, Membership
from beffroi.notify.sms.models import SmsMessage
from beffroi.safe.access import Viewer
from beffroi.safe.models import Document, Link, SafeEvent, WaitingReset
from beffroi.safe.services import links as link_services
from beffroi.safe.services.accounts import safe_open
from beffroi.safe.services.alerts import TEXTS
from beffroi.safe.tests.conftest import PASSWORD, pdf_bytes, sms_code
from beffroi.safe.tests.test_documents import upload

NEW = "Mot-de-passe-choisi-2026"


@pytest.fixture
def linked(beneficiary, ccas, social_worker):
    link = link_services.link_propose(actor=social_worker, organisation=ccas, safe=beneficiary.safe, send_code=False)
    return link_services.link_answer(actor=beneficiary, link=link, accept=True)


@pytest.fixture
def documents(beneficiary, linked):
    """One document shared with the CCAS, one not."""
    owner = Client()
    owner.force_login(beneficiary)
    upload(owner, pdf_bytes("PARTAGE"), name="Bail.pdf")
    shared = Document.objects.get()
    upload(owner, pdf_bytes("INTIME"), name="Journal intime.pdf")
    private = Document.objects.exclude(pk=shared.pk).get()
    link_services.share_set(viewer=Viewer(beneficiary), link=linked, item=shared, shared=True, label="Bail.pdf")
    return {"shared": shared, "private": private}


def _printed(page: str) -> list[str]:
    return re.findall(r"<code>([^<]+)</code>", page)


def _sign_in(password: str) -> tuple[Client, object]:
    """The real sign-in form, from a new browser."""
    browser = Client()
    return browser, browser.post("/compte/login/", {"login": "marie.d", "password": password})


def _password_page(link) -> str:
    return f"/accompagnement/coffres/{link.pk}/mot-de-passe/"


def test_without_proof_the_new_password_opens_only_what_is_shared(pro_client, beneficiary, linked, documents,
                                                                   social_worker):
    response = pro_client.post(_password_page(linked), {"methode": "attente", "attente-password": NEW})
    assert response.status_code == 302
    beneficiary.refresh_from_db()
    assert beneficiary.check_password(PASSWORD) and not beneficiary.check_password(NEW)  # theirs is unchanged
    waiting = WaitingReset.objects.get()
    assert waiting.status == "waiting" and NEW not in waiting.password
    assert waiting.opens_all_at > timezone.now() + timedelta(hours=71)

    # Told at once, with nothing on a lock screen that names anyone.
    notice = SmsMessage.objects.get(purpose="notice")
    assert notice.to == "+33612345678" and notice.text == TEXTS["waiting"] and "CCAS" not in notice.text
    # Both journals.
    assert SafeEvent.objects.filter(safe=beneficiary.safe, action="safe.reset_waiting", actor=social_worker).exists()
    assert JournalEntry.objects.filter(action="safe.password_wait", actor_id=social_worker.pk).exists()

    # The professional signs in as the beneficiary, with the password they set.
    thief, response = _sign_in(NEW)
    assert response.status_code == 302 and response["Location"] == "/coffre/"
    # Nor does this browser become a known one for the account (which would spare it the sign-in limits).
    assert settings.SIGNIN_DEVICE_COOKIE not in response.cookies
    page = thief.get("/coffre/").content.decode()
    assert "accès limité" in page and "Bail.pdf" in page and "Journal intime" not in page
    shared, private = documents["shared"], documents["private"]
    assert thief.get(f"/coffre/documents/{shared.pk}/fichier/").status_code == 200
    assert thief.get(f"/coffre/documents/{private.pk}/fichier/").status_code == 404
    assert thief.get(f"/coffre/documents/{private.pk}/vignette/").status_code == 404
    # Nothing that would read more, or widen the access: the journal, the export, the account, a second
    # factor or a passkey of their own, an e-mail address, another password.
    for path in ("/coffre/journal/", "/coffre/mes-donnees/", "/coffre/liens/", "/coffre/notes/", "/coffre/compte/",
                 f"/coffre/documents/{private.pk}/", "/compte/2fa/", "/compte/2fa/totp/activate/",
                 "/compte/2fa/webauthn/add/", "/compte/email/", "/compte/password/change/", "/accompagnement/"):
        response = thief.get(path)
        assert (response.status_code, response["Location"]) == (302, "/coffre/"), path
    for path, data in (
        ("/coffre/mes-donnees/export/", {}),
        ("/coffre/mes-donnees/supprimer/", {"confirmation": "SUPPRIMER", "password": NEW}),
        (f"/coffre/documents/{shared.pk}/supprimer/", {}),
        ("/coffre/compte/", {"phone": "07 00 00 00 01"}),
        ("/coffre/compte/codes-de-secours/", {"password": NEW}),
        ("/compte/reauthenticate/", {"password": NEW}),
        ("/compte/2fa/totp/activate/", {"code": "123456"}),
        ("/compte/email/", {"action_add": "", "email": "voleur@example.org"}),
        ("/compte/password/change/", {"oldpassword": NEW, "password1": "Autre-chose-2026!", "password2": "Autre-chose-2026!"}),
    ):
        assert thief.post(path, data).status_code == 403, path
    assert Document.objects.count() == 2 and not beneficiary.emailaddress_set.exists()
    assert SafeEvent.objects.filter(action="safe.restricted_sign_in").count() == 1

    # The beneficiary's own password still opens everything, and shows what happened.
    owner, response = _sign_in(PASSWORD)
    home = owner.get("/coffre/").content.decode()
    assert "Journal intime" in home and "Annuler le mot de passe provisoire" in home
    assert "Connexion avec le mot de passe provisoire" in home and "Mot de passe provisoire choisi" in home
    assert owner.post(f"/coffre/compte/provisoire/{waiting.pk}/annuler/").status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == "cancelled" and waiting.ended_by == beneficiary
    # The professional's session ends, and the password opens nothing any more.
    response = thief.get("/coffre/")
    assert response.status_code == 302 and response["Location"].startswith("/compte/login/")
    assert _sign_in(NEW)[1].status_code == 200
    assert JournalEntry.objects.filter(action="safe.password_wait_cancel").exists()


def test_at_the_end_of_the_wait_the_password_opens_everything(pro_client, beneficiary, linked, documents):
    pro_client.post(_password_page(linked), {"methode": "attente", "attente-password": NEW})
    thief, _ = _sign_in(NEW)
    assert "Journal intime" not in thief.get("/coffre/").content.decode()
    WaitingReset.objects.update(opens_all_at=timezone.now() - timedelta(seconds=1))
    # The restricted session ends (its password is no longer a waiting one)…
    assert thief.get("/coffre/")["Location"].startswith("/compte/login/")
    # …and the password is now the beneficiary's: it opens the whole safe, the former one nothing.
    browser, response = _sign_in(NEW)
    assert response.status_code == 302
    assert "Journal intime" in browser.get("/coffre/").content.decode()
    assert browser.get("/coffre/journal/").status_code == 200
    assert _sign_in(PASSWORD)[1].status_code == 200
    assert WaitingReset.objects.get().status == "completed"
    assert SafeEvent.objects.filter(action="safe.reset_completed", actor=None).exists()


def test_a_password_changed_by_its_owner_meanwhile_voids_the_waiting_one(pro_client, beneficiary, linked):
    pro_client.post(_password_page(linked), {"methode": "attente", "attente-password": NEW})
    thief, _ = _sign_in(NEW)
    owner, _ = _sign_in(PASSWORD)
    mine = "Le-mien-tout-neuf-2026"
    assert owner.post("/compte/password/change/", {"oldpassword": PASSWORD, "password1": mine,
                                                    "password2": mine}).status_code == 302
    assert thief.get("/coffre/")["Location"].startswith("/compte/login/")
    WaitingReset.objects.update(opens_all_at=timezone.now() - timedelta(seconds=1))
    assert _sign_in(NEW)[1].status_code == 200
    assert _sign_in(mine)[1].status_code == 302
    assert WaitingReset.objects.get().status == "superseded"


def test_breaking_the_link_cancels_the_waiting_password(pro_client, beneficiary, linked, documents):
    pro_client.post(_password_page(linked), {"methode": "attente", "attente-password": NEW})
    thief, _ = _sign_in(NEW)
    link_services.link_break(actor=beneficiary, link=linked)
    assert WaitingReset.objects.get().status == "cancelled"
    assert thief.get("/coffre/")["Location"].startswith("/compte/login/")
    assert _sign_in(NEW)[1].status_code == 200


def test_a_second_factor_is_still_asked_with_the_waiting_password(pro_client, beneficiary, linked):
    TOTP.activate(beneficiary, generate_totp_secret())
    pro_client.post(_password_page(linked), {"methode": "attente", "attente-password": NEW})
    thief, response = _sign_in(NEW)
    assert response["Location"] == "/compte/2fa/authenticate/"
    assert thief.get("/coffre/")["Location"].startswith("/compte/login/")  # not signed in without the code


def test_only_one_password_waits_at_a_time(pro_client, beneficiary, linked):
    pro_client.post(_password_page(linked), {"methode": "attente", "attente-password": NEW})
    response = pro_client.post(_password_page(linked), {"methode": "attente", "attente-password": "Encore-un-autre-2026"})
    assert response.status_code == 400 and "attend déjà" in response.content.decode()
    assert WaitingReset.objects.count() == 1


def test_another_organisation_learns_only_that_a_password_waits(pro_client, beneficiary, linked, association):
    """A request from one organisation (say, a victims' association) is not shown to another linked one."""
    from conftest import make_staff, sign_in_with_second_factor

    pro_client.post(_password_page(linked), {"methode": "attente", "attente-password": NEW})
    other = link_services.link_propose(actor=make_staff(association, Membership.Role.SOCIAL_WORKER),
                                       organisation=association, safe=beneficiary.safe, send_code=False)
    other = link_services.link_answer(actor=beneficiary, link=other, accept=True)
    elsewhere = sign_in_with_second_factor(Client(), Membership.objects.get(organisation=association).user)
    page = elsewhere.get(_password_page(other)).content.decode()
    assert "attend déjà" in page and "CCAS" not in page
    mine = pro_client.get(_password_page(linked)).content.decode()
    assert "demandé par CCAS de Haisnes" in mine


def test_with_the_code_sent_to_the_verified_mobile(pro_client, beneficiary, linked, documents, social_worker):
    assert pro_client.post(_password_page(linked) + "code/").status_code == 302
    code_sms = SmsMessage.objects.get(purpose="code")
    assert code_sms.to == "+33612345678" and "CCAS" not in code_sms.text  # a lock screen shows it
    code = sms_code("code")
    wrong = "000000" if code != "000000" else "111111"
    response = pro_client.post(_password_page(linked), {"methode": "sms", "sms-code": wrong, "sms-password": NEW})
    assert response.status_code == 400 and "Code incorrect" in response.content.decode()
    beneficiary.refresh_from_db()
    assert beneficiary.check_password(PASSWORD)
    # A wrong code is journaled and told, even though the request failed.
    assert SafeEvent.objects.filter(action="safe.reset_refused").exists()
    assert JournalEntry.objects.filter(action="safe.reset_refused", actor_id=social_worker.pk).exists()
    assert SmsMessage.objects.filter(purpose="notice", text=TEXTS["refused"]).exists()

    response = pro_client.post(_password_page(linked), {"methode": "sms", "sms-code": code, "sms-password": NEW})
    assert response.status_code == 302
    beneficiary.refresh_from_db()
    assert beneficiary.check_password(NEW) and not WaitingReset.objects.exists()
    assert SmsMessage.objects.filter(purpose="notice", text=TEXTS["reset"]).exists()
    event = SafeEvent.objects.get(action="safe.password_reset")
    assert event.actor == social_worker and event.organisation_id == linked.organisation_id
    assert JournalEntry.objects.filter(action="safe.password_reset", data={"proof": "sms"}).exists()
    # The code works once.
    response = pro_client.post(_password_page(linked), {"methode": "sms", "sms-code": code,
                                                        "sms-password": "Encore-autre-2026"})
    assert response.status_code == 400
    browser, response = _sign_in(NEW)
    assert "Journal intime" in browser.get("/coffre/").content.decode()


def test_no_code_goes_to_a_mobile_never_verified(pro_client, commune, ccas, social_worker):
    safe = safe_open(username="paul.r", password=PASSWORD, phone="07 11 22 33 44", opened_by=social_worker,
                     organisation=ccas)
    link = Link.objects.get(safe=safe)
    response = pro_client.post(_password_page(link) + "code/", follow=True)
    assert "pas de mobile vérifié" in response.content.decode()
    assert not SmsMessage.objects.filter(purpose="code").exists()
    # Opened by the professional: no recovery code was shown to them, none exists.
    assert safe.new_recovery_codes == [] and not safe.recovery_codes.exists()


def test_with_a_printed_recovery_code(pro_client, commune, ccas, social_worker):
    # The beneficiary opened their safe alone: the page showed their codes once.
    response = Client().post("/coffre/creer/", {"username": "lea.b", "password": PASSWORD, "phone": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Codes de secours de votre coffre-fort" in page and "Imprimer les codes" in page
    from beffroi.safe.models import Safe

    safe = Safe.objects.get(owner__username="lea.b")
    printed = _printed(page)
    assert len(printed) == 5 and all(code not in "".join(safe.recovery_codes.values_list("code_hash", flat=True))
                                     for code in printed)
    link = link_services.link_propose(actor=social_worker, organisation=ccas, safe=safe, send_code=False)
    link_services.link_answer(actor=safe.owner, link=link, accept=True)

    url = _password_page(link)
    assert pro_client.post(url, {"methode": "secours", "secours-code": "ABCD-EFGH-JKMN-PQRS",
                                 "secours-password": NEW}).status_code == 400
    typed = printed[2].lower().replace("-", " ")  # as read out, in any case, with spaces
    assert pro_client.post(url, {"methode": "secours", "secours-code": typed, "secours-password": NEW}).status_code == 302
    safe.owner.refresh_from_db()
    assert safe.owner.check_password(NEW)
    assert JournalEntry.objects.filter(action="safe.password_reset", data={"proof": "recovery"}).exists()
    # Spent: it does not work a second time; the other codes still do.
    assert pro_client.post(url, {"methode": "secours", "secours-code": printed[2],
                                 "secours-password": "Encore-autre-2026"}).status_code == 400
    assert safe.recovery_codes.filter(used_at__isnull=True).count() == 4


def test_the_beneficiary_alone_with_a_recovery_code_and_new_codes(client, owner_client, beneficiary):
    # New codes need the password again; the former ones stop working.
    assert owner_client.post("/coffre/compte/codes-de-secours/", {"password": "faux"}).status_code == 400
    response = owner_client.post("/coffre/compte/codes-de-secours/", {"password": PASSWORD})
    printed = _printed(response.content.decode())
    assert len(printed) == 5 and beneficiary.safe.recovery_codes.filter(used_at__isnull=True).count() == 5
    response = client.post("/coffre/mot-de-passe-oublie/code-de-secours/",
                           {"username": "marie.d", "code": printed[0], "password": NEW})
    assert response.status_code == 302
    beneficiary.refresh_from_db()
    assert beneficiary.check_password(NEW)
    again = client.post("/coffre/mot-de-passe-oublie/code-de-secours/",
                        {"username": "marie.d", "code": printed[0], "password": "Encore-autre-2026"})
    assert again.status_code == 400 and "déjà utilisé" in again.content.decode()


def test_strangers_guessing_codes_cannot_lock_the_owner_out_of_recovery(owner_client, beneficiary):
    printed = _printed(owner_client.post("/coffre/compte/codes-de-secours/", {"password": PASSWORD}).content.decode())
    for n in range(30):  # from many addresses, wrong codes for this username
        Client(REMOTE_ADDR=f"198.51.100.{n}").post("/coffre/mot-de-passe-oublie/code-de-secours/",
                                                  {"username": "marie.d", "code": "ABCD-EFGH-JKLM-NPQR", "password": NEW})
    response = Client(REMOTE_ADDR="192.0.2.10").post("/coffre/mot-de-passe-oublie/code-de-secours/",
                                                     {"username": "marie.d", "code": printed[0], "password": NEW})
    assert response.status_code == 302
    beneficiary.refresh_from_db()
    assert beneficiary.check_password(NEW)


def test_the_beneficiary_is_told_on_their_devices_too(settings, pro_client, beneficiary, linked):
    from beffroi.safe.tasks import push_notice
    from fakes.push_service import FakePushService

    with FakePushService() as service:
        settings.PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
        owner = Client()
        owner.force_login(beneficiary)
        owner.post("/coffre/compte/notifications/", service.subscribe().as_json(), content_type="application/json")
        pro_client.post(_password_page(linked), {"methode": "attente", "attente-password": NEW})
        job = DBTaskResult.objects.get(task_path=push_notice.module_path)
        assert job.args_kwargs["args"] == [beneficiary.safe.pk, TEXTS["waiting"]]
        assert push_notice.func(*job.args_kwargs["args"]) == {"sent": 1, "removed": 0}
        assert TEXTS["waiting"].encode() in service.received[0].plaintext
