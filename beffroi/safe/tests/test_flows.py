"""Links, records, reminders, export, deletion and key rotation of the safe."""

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from beffroi.core.models import JournalEntry
from beffroi.notify.sms.models import SmsMessage
from beffroi.notify.sms.tasks import dispatch_sms
from beffroi.safe.access import Viewer
from beffroi.safe.crypto import KeyUnavailableError
from beffroi.safe.keys import keyring, safe_key
from beffroi.safe.models import Appointment, Contact, Document, Link, Reminder, Safe
from beffroi.safe.services import links as link_services
from beffroi.safe.services.deletion import rewrap_safe_keys, shred_retired_keys
from beffroi.safe.services.records import read, record_save
from beffroi.safe.services.reminders import hand_over_due
from beffroi.safe.tests.conftest import PASSWORD, pdf_bytes
from beffroi.safe.tests.test_documents import upload
from conftest import sign_in_with_second_factor


def _code_from_sms() -> str:
    text = SmsMessage.objects.filter(purpose="code").latest("created_at").text
    return next(word for word in text.replace(")", " ").split() if word.isdigit() and len(word) == 6)


def test_a_proposed_link_is_confirmed_with_the_sms_code(pro_client, beneficiary, ccas, social_worker):
    response = pro_client.post("/accompagnement/proposer/", {"username": "Marie.D", "organisation": ccas.pk})
    assert response.status_code == 302
    link = Link.objects.get()
    assert link.status == Link.Status.PROPOSED and link.code_hash
    message = SmsMessage.objects.get(purpose="code")
    assert message.to == "+33612345678" and "CCAS de Haisnes" in message.text
    code = _code_from_sms()
    assert code not in link.code_hash
    # Wrong codes count; the right one confirms.
    assert pro_client.post(f"/accompagnement/liens/{link.pk}/code/", {"code": "000000" if code != "000000" else "111111"})
    link.refresh_from_db()
    assert link.status == Link.Status.PROPOSED and link.code_attempts == 1
    pro_client.post(f"/accompagnement/liens/{link.pk}/code/", {"code": code})
    link.refresh_from_db()
    assert link.status == Link.Status.ACTIVE
    # Nothing is shared by default.
    page = pro_client.get(f"/accompagnement/coffres/{link.pk}/").content.decode()
    assert "Aucun document partagé" in page


def test_codes_expire_and_attempts_are_few(beneficiary, ccas, social_worker):
    link = link_services.link_propose(actor=social_worker, organisation=ccas, safe=beneficiary.safe)
    for _ in range(link_services.CODE_ATTEMPTS):
        with pytest.raises(ValidationError):
            link_services.link_confirm_with_code(actor=social_worker, link=link, code="abc")
    code = _code_from_sms()
    with pytest.raises(ValidationError, match="plus valable"):
        link_services.link_confirm_with_code(actor=social_worker, link=link, code=code)


def test_the_beneficiary_accepts_in_the_app_and_breaks_at_any_time(owner_client, beneficiary, ccas, social_worker):
    link = link_services.link_propose(actor=social_worker, organisation=ccas, safe=beneficiary.safe, send_code=False)
    assert owner_client.post(f"/coffre/liens/{link.pk}/accepter/").status_code == 302
    link.refresh_from_db()
    assert link.is_active
    assert owner_client.post(f"/coffre/liens/{link.pk}/rompre/").status_code == 302
    link.refresh_from_db()
    assert link.status == Link.Status.BROKEN and link.ended_by == beneficiary


def test_records_are_sealed_and_appointments_get_reminders(owner_client, beneficiary):
    starts = timezone.localtime() + timedelta(days=3)
    response = owner_client.post("/coffre/rendez-vous/ajouter/", {
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"), "title": "CAF : dossier APL", "place": "Lens",
        "reminders": ["1440", "120"],
    })
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert b"CAF" not in bytes(appointment.data_sealed)
    assert Reminder.objects.filter(appointment=appointment, status="pending").count() == 2
    owner_client.post("/coffre/contacts/ajouter/", {"name": "Mme Assistante", "phone": "03 21 00 00 00"})
    contact = Contact.objects.get()
    assert b"Assistante" not in bytes(contact.data_sealed)
    assert read(contact, safe_key(beneficiary.safe))["name"] == "Mme Assistante"
    page = owner_client.get("/coffre/rendez-vous/").content.decode()
    assert "CAF : dossier APL" in page
    assert owner_client.post("/coffre/rendez-vous/ajouter/", {"title": "Sans date"}).status_code == 400
    assert owner_client.get("/coffre/inconnu/").status_code == 404


def test_due_reminders_become_one_sms_each_exactly_once(beneficiary):
    safe = beneficiary.safe
    appointment = record_save(viewer=Viewer(beneficiary), safe=safe, kind="appointment",
                              data={"title": "Pôle emploi", "place": "Rue de la Gare"},
                              starts_at=timezone.now() + timedelta(hours=3), reminders=[120, 60])
    later = timezone.now() + timedelta(hours=1, minutes=30)
    assert hand_over_due(now=later) == 1  # the two-hour one
    assert hand_over_due(now=later) == 0  # never twice
    message = SmsMessage.objects.get(purpose="reminder")
    assert message.tag == f"r{Reminder.objects.get(status='queued').pk}"
    # Fixed wording: the date and the hour, nothing written in the safe.
    when = timezone.localtime(appointment.starts_at)
    assert message.text == (f"Rappel : vous avez un rendez-vous le {when:%d/%m} à {when:%H}h{when:%M}. "
                            "Détails dans votre coffre-fort.")
    # Moving the appointment cancels the pending reminders and schedules new ones.
    record_save(viewer=Viewer(beneficiary), safe=safe, kind="appointment", item=appointment,
                data={"title": "Pôle emploi"}, starts_at=timezone.now() + timedelta(days=2), reminders=[60])
    assert Reminder.objects.filter(appointment=appointment, status="pending").count() == 1


def test_reminders_handed_over_together_share_one_dated_sending_job(beneficiary):
    # The verification code's sending job has run long ago.
    DBTaskResult.objects.filter(task_path=dispatch_sms.module_path).delete()
    for i in range(5):
        record_save(viewer=Viewer(beneficiary), safe=beneficiary.safe, kind="appointment", data={"title": f"RDV {i}"},
                    starts_at=timezone.now() + timedelta(hours=2), reminders=[60])
    assert hand_over_due(now=timezone.now() + timedelta(hours=1, minutes=30)) == 5
    assert SmsMessage.objects.filter(purpose="reminder", status="queued").count() == 5
    assert Reminder.objects.filter(status="queued").exclude(handed_over_at=None).count() == 5
    # One job sends the lot (not one per SMS); dated, so that the worker takes it before undated jobs.
    job = DBTaskResult.objects.get(task_path=dispatch_sms.module_path, status="READY")
    assert job.run_after <= timezone.now()


def test_a_worker_started_after_a_crash_continues_the_reminders_at_once(beneficiary):
    from beffroi.core.maintenance import ensure_chains
    from beffroi.safe.tasks import hand_over_reminders

    record_save(viewer=Viewer(beneficiary), safe=beneficiary.safe, kind="appointment", data={"title": "CAF"},
                starts_at=timezone.now() + timedelta(hours=2), reminders=[60])
    jobs = DBTaskResult.objects.filter(task_path=hand_over_reminders.module_path)
    # Its worker was killed in the middle of the run: the job stays "running" until the heartbeat timeout.
    jobs.update(status="RUNNING", worker_ids=["killed"])
    ensure_chains()  # what the worker started in its place does first
    assert jobs.filter(status="READY").count() == 1
    ensure_chains()
    assert jobs.filter(status="READY").count() == 1


def test_the_export_holds_everything(owner_client, beneficiary):
    original = pdf_bytes("EXPORT") * 50
    upload(owner_client, original, name="Avis d’imposition.pdf")
    owner_client.post("/coffre/notes/ajouter/", {"title": "Codes", "body": "Numéro allocataire : 123"})
    owner_client.post("/coffre/contacts/ajouter/", {"name": "Assistante sociale", "phone": "0321000000"})
    response = owner_client.post("/coffre/mes-donnees/export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {"LISEZMOI.txt", "documents/Avis d’imposition.pdf", "contacts.json", "contacts.csv", "notes.json",
            "notes.csv", "rendez-vous.json", "rendez-vous.csv", "journal.json", "journal.csv", "manifeste.json"} <= names
    assert archive.read("documents/Avis d’imposition.pdf") == original
    assert json.loads(archive.read("notes.json"))[0]["body"] == "Numéro allocataire : 123"
    assert "Assistante sociale" in archive.read("contacts.csv").decode("utf-8-sig")
    manifest = json.loads(archive.read("manifeste.json"))
    assert manifest[0]["sha256"] == Document.objects.get().sha256
    journal = json.loads(archive.read("journal.json"))
    assert [row["quoi"] for row in journal][:3] == ["Ouverture du coffre", "Numéro de mobile vérifié", "Document ajouté"]


def test_deleting_the_account_destroys_its_keys(owner_client, beneficiary, django_capture_on_commit_callbacks):
    from beffroi.safe import keys

    upload(owner_client, pdf_bytes(), name="x.pdf")
    from beffroi.safe.services.accounts import safe_open

    survivor = safe_open(username="paul.r", password=PASSWORD).owner.safe
    deleted_safe = Safe.objects.get(owner=beneficiary)
    backup = (deleted_safe.kek_id, bytes(deleted_safe.wrapped_key), deleted_safe.context())
    stored = list((Path(settings.STORAGES["private"]["OPTIONS"]["location"]) / "coffre").iterdir())
    assert stored

    response = owner_client.post("/coffre/mes-donnees/supprimer/", {"confirmation": "SUPPRIMER", "password": "non"})
    assert Safe.objects.filter(pk=deleted_safe.pk).exists()  # wrong password: nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/coffre/mes-donnees/supprimer/", {"confirmation": "SUPPRIMER", "password": PASSWORD})
    assert response.status_code == 302
    assert not Safe.objects.filter(pk=deleted_safe.pk).exists() and not Document.objects.exists()
    assert not any(path.exists() for path in stored)
    assert JournalEntry.objects.filter(action="safe.delete").exists()

    caches["default"].clear()  # a flood of cache rows culls anything kept there: the rotation still comes
    first = shred_retired_keys()  # rotates: the survivor is re-wrapped
    assert first["rotated"] and first["rewrapped"] == 1
    second = shred_retired_keys()  # the former key, referenced by nothing, is destroyed
    assert backup[0] in second["destroyed"] and second["rotated"] is None  # once per deletion
    with pytest.raises(KeyUnavailableError):
        keys.keyring().unwrap(backup[:2], context=backup[2])  # a backup of the row opens nothing
    survivor.refresh_from_db()
    assert len(safe_key(survivor)) == 32  # the others are intact


def test_rotation_rewraps_without_touching_files(owner_client, beneficiary):
    upload(owner_client, pdf_bytes("ROTATION"), name="r.pdf")
    document = Document.objects.get()
    path = Path(settings.STORAGES["private"]["OPTIONS"]["location"]) / document.storage_name
    before = path.read_bytes()
    ring = keyring()
    ring.rotate()
    assert rewrap_safe_keys() == 1
    safe = Safe.objects.get()
    assert safe.kek_id == ring.current_id
    assert path.read_bytes() == before
    response = owner_client.get(f"/coffre/documents/{document.pk}/fichier/")
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_a_new_password_by_sms_code(client, beneficiary):
    from beffroi.safe.models import ResetCode

    assert client.post("/coffre/mot-de-passe-oublie/", {"username": "inconnu"}).status_code == 302
    assert not SmsMessage.objects.filter(purpose="code").exists()  # the same answer, nothing sent
    client.post("/coffre/mot-de-passe-oublie/", {"username": "MARIE.D"})
    message = SmsMessage.objects.get(purpose="code")
    code = next(word for word in message.text.split() if word.isdigit() and len(word) == 6)
    assert code not in ResetCode.objects.get(purpose="reset").code_hash
    new = "Un-nouveau-mot-de-passe-2026"
    wrong = client.post("/coffre/mot-de-passe-oublie/code/", {"username": "marie.d", "code": "12345x", "password": new})
    assert wrong.status_code == 400 and "Code incorrect" in wrong.content.decode()
    response = client.post("/coffre/mot-de-passe-oublie/code/", {"username": "marie.d", "code": code, "password": new})
    assert response.status_code == 302
    beneficiary.refresh_from_db()
    assert beneficiary.check_password(new)
    again = client.post("/coffre/mot-de-passe-oublie/code/", {"username": "marie.d", "code": code, "password": "Autre-2026-x!"})
    assert again.status_code == 400  # used once only


def test_the_account_page_sets_the_mobile(owner_client, beneficiary):
    assert owner_client.post("/coffre/compte/", {"phone": "01 02 03 04 05"}).status_code == 400
    assert owner_client.post("/coffre/compte/", {"phone": "07 11 22 33 44"}).status_code == 302
    from beffroi.safe.services.phone import safe_phone

    assert safe_phone(Safe.objects.get(owner=beneficiary)) == "+33711223344"
    assert b"+3371122" not in bytes(Safe.objects.get(owner=beneficiary).phone_sealed)


def test_a_new_number_or_new_recovery_codes_are_told_to_the_owner(owner_client, beneficiary):
    """Someone who once knew the password must not quietly move the resets to their own phone,
    nor void the printed recovery codes: the verified number hears of it, and the safe says so."""
    told = SmsMessage.objects.filter(to="+33612345678", purpose="notice")
    assert owner_client.post("/coffre/compte/", {"phone": "07 11 22 33 44"}).status_code == 302
    assert "numéro de mobile de votre coffre a été changé" in told.get().text
    response = owner_client.post("/coffre/compte/codes-de-secours/", {"password": PASSWORD})
    assert response.status_code == 200
    # The former number is no longer the safe's: the owner learns it on the safe's page.
    page = owner_client.get("/coffre/").content.decode()
    assert "numéro" in page.lower() and "codes de secours" in page.lower()


@pytest.mark.parametrize("up_to", ["²", "٣", "-1", "9" * 30, ""])
def test_odd_notice_positions_are_refused_quietly(owner_client, beneficiary, up_to):
    assert owner_client.post("/coffre/avis/vus/", {"jusqua": up_to}).status_code == 302


def test_reminders_also_go_by_web_push_where_enabled(owner_client, beneficiary, settings):
    from beffroi.safe.models import SafePushSubscription
    from beffroi.safe.tasks import push_reminder
    from fakes.push_service import FakePushService

    with FakePushService() as service:
        settings.PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
        subscription = service.subscribe()
        response = owner_client.post("/coffre/compte/notifications/", subscription.as_json(),
                                     content_type="application/json")
        assert response.status_code == 201
        assert owner_client.post("/coffre/compte/notifications/", "{}", content_type="application/json").status_code == 400
        assert SafePushSubscription.objects.count() == 1
        record_save(viewer=Viewer(beneficiary), safe=beneficiary.safe, kind="appointment",
                    data={"title": "Mission locale"}, starts_at=timezone.now() + timedelta(hours=2), reminders=[60])
        assert hand_over_due(now=timezone.now() + timedelta(hours=1, minutes=1)) == 1
        assert push_reminder.func(beneficiary.safe.pk, "Rappel : Mission locale") == {"sent": 1, "removed": 0}
        received = service.received[0]
        assert b"Mission locale" in received.plaintext


def test_the_organisation_sees_its_sms_counts(pro_client, beneficiary, ccas, social_worker):
    link_services.link_propose(actor=social_worker, organisation=ccas, safe=beneficiary.safe)
    page = pro_client.get("/accompagnement/").content.decode()
    assert "CCAS de Haisnes : 0 envoyé, 1 en attente, 0 en échec" in page


def test_the_beneficiary_asks_and_the_organisation_answers(owner_client, beneficiary, ccas, social_worker):
    pro_client = sign_in_with_second_factor(Client(), social_worker)
    assert owner_client.post("/coffre/liens/demander/", {"organisation": ccas.pk}).status_code == 302
    link = Link.objects.get()
    assert link.status == Link.Status.REQUESTED
    assert "CCAS de Haisnes" in owner_client.get("/coffre/liens/").content.decode()
    pro_client.post(f"/accompagnement/liens/{link.pk}/reponse/", {"accepter": "1"})
    link.refresh_from_db()
    assert link.is_active
    # Each link shows what it shares.
    upload(owner_client, pdf_bytes(), name="Bail.pdf")
    document = Document.objects.get()
    owner_client.post(f"/coffre/liens/{link.pk}/partage/", {"item": f"document:{document.pk}", "partager": "1"})
    page = owner_client.get("/coffre/liens/").content.decode()
    assert "Partagé avec CCAS de Haisnes" in page and "<li>Bail.pdf</li>" in page


def test_a_professional_deposits_only_when_allowed(owner_client, beneficiary, ccas, social_worker):
    pro_client = sign_in_with_second_factor(Client(), social_worker)
    from django.core.files.uploadedfile import SimpleUploadedFile

    link = link_services.link_propose(actor=social_worker, organisation=ccas, safe=beneficiary.safe, send_code=False)
    link_services.link_answer(actor=beneficiary, link=link, accept=True)
    url = f"/accompagnement/coffres/{link.pk}/deposer/"
    pro_client.post(url, {"fichier": SimpleUploadedFile("attestation.pdf", pdf_bytes()), "name": "Attestation"})
    assert not Document.objects.exists()
    owner_client.post(f"/coffre/liens/{link.pk}/depot/", {"autoriser": "1"})
    pro_client.post(url, {"fichier": SimpleUploadedFile("attestation.pdf", pdf_bytes()), "name": "Attestation"})
    document = Document.objects.get()
    assert document.uploaded_for == ccas and document.shares.filter(link=link).exists()
    journal = owner_client.get("/coffre/journal/").content.decode()
    assert "Document ajouté" in journal and "(CCAS de Haisnes)" in journal


def test_a_reset_by_sms_code_lets_the_owner_in_again_despite_attackers(client, beneficiary, settings):
    """Strangers' failures slow down new browsers on the account; the owner
    who proves who they are with the code sent to their mobile is not slowed."""
    from beffroi.safe.services.reset import reset_code_send, reset_with_code

    settings.SIGNIN_FAILURES_PER_ACCOUNT = (3, 86400)

    def sign_in(password, address):
        return Client(REMOTE_ADDR=address).post("/compte/login/", {"login": "marie.d", "password": password})

    for n in range(3):
        sign_in(f"essai-{n}", f"2001:db8:{n:x}::1")
    assert "Trop d’échecs de connexion" in sign_in(PASSWORD, "198.51.100.7").content.decode()
    reset_code_send(username="marie.d")
    reset_with_code(username="marie.d", code=_code_from_sms(), password="Un-nouveau-mot-de-passe-2026")
    assert sign_in("Un-nouveau-mot-de-passe-2026", "198.51.100.7").status_code == 302


def test_the_daily_job_rotates_after_a_deletion_outside_any_test_transaction(transactional_db, commune):
    """As the worker runs it: no transaction around (the rotation and its entry must open their own)."""
    from beffroi.safe.services.accounts import safe_open
    from beffroi.safe.services.deletion import safe_delete

    survivor = safe_open(username="paul.r", password=PASSWORD).owner.safe
    leaving = safe_open(username="lea.m", password=PASSWORD).owner.safe
    former = survivor.kek_id
    safe_delete(safe=leaving, actor=leaving.owner, password_checked=True)
    done = shred_retired_keys()
    assert done["rotated"] and done["rewrapped"] == 1
    assert JournalEntry.objects.filter(action="safe.keyring_rotated").count() == 1
    survivor.refresh_from_db()
    assert survivor.kek_id == done["rotated"] != former
    assert shred_retired_keys()["rotated"] is None  # once per deletion
