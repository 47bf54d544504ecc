"""Documents of a safe: encrypted at rest, served only after the access check,
damage refused, and who may see what (the access matrix)."""

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from beffroi.core.models import JournalEntry, Membership
from beffroi.realtime.models import Event
from beffroi.safe.crypto import TamperedError
from beffroi.safe.events import verify_chain
from beffroi.safe.models import Document, Link, Safe, SafeEvent, Share
from beffroi.safe.services.accounts import safe_open
from beffroi.safe.services.documents import folder_create, integrity_check
from beffroi.safe.services.links import link_break, link_propose, share_set
from beffroi.safe.tests.conftest import PASSWORD, jpeg_bytes, owner_viewer, pdf_bytes
from conftest import make_staff, sign_in_with_second_factor


def upload(client, content: bytes, name="Carte d’identité.pdf", **fields):
    return client.post("/coffre/documents/ajouter/", {"fichier": SimpleUploadedFile(name, content), **fields})


def stored_bytes(document: Document) -> bytes:
    return (Path(settings.STORAGES["private"]["OPTIONS"]["location"]) / document.storage_name).read_bytes()


def download(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)


def test_a_document_is_encrypted_at_rest_and_comes_back_whole(owner_client, beneficiary):
    content = pdf_bytes("NUMERO-DE-SECU-TEMOIN") * 200  # ~600 KB
    response = upload(owner_client, content, name="Attestation CAF.pdf")
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.content_type == "application/pdf" and document.size == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    stored = stored_bytes(document)
    assert b"NUMERO-DE-SECU-TEMOIN" not in stored and b"%PDF" not in stored
    assert b"Attestation" not in bytes(document.name_sealed)
    Safe.objects.get().refresh_from_db()
    assert Safe.objects.get().used_bytes == len(content)

    response = owner_client.get(f"/coffre/documents/{document.pk}/fichier/")
    assert response["Content-Type"] == "application/pdf"
    assert {"private", "no-store"} <= set(response["Cache-Control"].split(", "))
    assert response["Content-Disposition"].startswith('attachment; filename="Attestation CAF.pdf"')
    assert b"".join(response.streaming_content) == content
    preview = owner_client.get(f"/coffre/documents/{document.pk}/fichier/?apercu=1")
    assert preview["Content-Disposition"].startswith("inline;") and "sandbox" in preview["Content-Security-Policy"]
    actions = list(SafeEvent.objects.filter(safe=beneficiary.safe).order_by("seq").values_list("action", flat=True))
    assert actions == ["safe.open", "safe.phone_verified", "document.upload", "document.download", "document.view"]
    assert verify_chain(beneficiary.safe) is None


def test_only_accepted_types_are_stored(owner_client):
    for name, content in [("script.pdf", b"#!/bin/sh\nrm -rf /\n"), ("page.html", b"<html><script>alert(1)</script>"),
                          ("vide.pdf", b"")]:
        response = upload(owner_client, content, name=name)
        assert response.status_code == 302
    assert not Document.objects.exists()
    assert not list((Path(settings.STORAGES["private"]["OPTIONS"]["location"])).glob("coffre/*"))


def test_images_get_a_thumbnail_and_the_quota_is_kept(owner_client, beneficiary):
    assert upload(owner_client, jpeg_bytes(), name="photo.jpg").status_code == 302
    document = Document.objects.get()
    assert document.content_type == "image/jpeg" and document.thumbnail_sealed
    thumbnail = owner_client.get(f"/coffre/documents/{document.pk}/vignette/")
    assert thumbnail.status_code == 200 and thumbnail.content[:3] == b"\xff\xd8\xff"
    Safe.objects.filter(pk=beneficiary.safe.pk).update(quota_bytes=document.size + 10)
    upload(owner_client, jpeg_bytes((1, 2, 3)), name="autre.jpg")
    assert Document.objects.count() == 1  # over the quota: refused, nothing stored
    assert len(list((Path(settings.STORAGES["private"]["OPTIONS"]["location"])).glob("coffre/*"))) == 1


def test_a_changed_byte_is_refused_with_a_clear_error(owner_client):
    content = pdf_bytes() * 1000  # ~3 MB: several chunks
    upload(owner_client, content)
    document = Document.objects.get()
    path = Path(settings.STORAGES["private"]["OPTIONS"]["location"]) / document.storage_name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    response = owner_client.get(f"/coffre/documents/{document.pk}/fichier/")
    assert response.status_code == 409
    assert "Ce document est altéré" in response.content.decode()
    assert integrity_check() == {"checked": 1, "failed": 1}
    document.refresh_from_db()
    assert document.check_failed_at is not None


def test_the_integrity_job_passes_intact_files(owner_client):
    upload(owner_client, pdf_bytes())
    assert integrity_check() == {"checked": 1, "failed": 0}


def test_the_daily_job_checks_every_document_once_a_day(owner_client):
    for i in range(3):
        upload(owner_client, pdf_bytes(f"DOC-{i}"), name=f"doc-{i}.pdf")
    now = timezone.now()
    assert integrity_check(now=now) == {"checked": 3, "failed": 0}
    assert integrity_check(now=now + timedelta(hours=1)) == {"checked": 0, "failed": 0}
    assert integrity_check(now=now + timedelta(days=1)) == {"checked": 3, "failed": 0}


def test_a_large_document_found_damaged_gets_the_clear_page_and_comes_back_once_repaired(owner_client, monkeypatch):
    """Over VERIFY_FIRST_MAX a download streams at once (each chunk authenticated, cut at the first bad one);
    once a cut download or the integrity job has found the damage, the download says so before sending anything."""
    from beffroi.safe.services import documents as document_services

    monkeypatch.setattr(document_services, "VERIFY_FIRST_MAX", 1024 * 1024)
    content = pdf_bytes() * 1000  # ~3 MB: over the lowered limit, several chunks
    upload(owner_client, content)
    document = Document.objects.get()
    path = Path(settings.STORAGES["private"]["OPTIONS"]["location"]) / document.storage_name
    intact = path.read_bytes()
    damaged = bytearray(intact)
    damaged[-1000] ^= 0x01  # in the last chunk
    path.write_bytes(bytes(damaged))
    url = f"/coffre/documents/{document.pk}/fichier/"
    streamed = owner_client.get(url)
    assert streamed.status_code == 200  # not verified first: the stream stops at the bad chunk
    with pytest.raises(TamperedError):
        b"".join(streamed.streaming_content)
    # The cut download marked it: the next attempt gets the clear page at once.
    refused = owner_client.get(url)
    assert refused.status_code == 409 and "Ce document est altéré" in refused.content.decode()
    Document.objects.update(check_failed_at=None)  # as before anyone downloaded it
    assert integrity_check() == {"checked": 1, "failed": 1}
    refused = owner_client.get(url)
    assert refused.status_code == 409 and "Ce document est altéré" in refused.content.decode()
    path.write_bytes(intact)  # restored from a backup
    assert integrity_check() == {"checked": 1, "failed": 0}  # failed ones are checked at every run
    assert b"".join(owner_client.get(url).streaming_content) == content


# --- The access matrix ------------------------------------------------------------------------


@pytest.fixture
def matrix(beneficiary, ccas, association, social_worker):
    """A safe with a shared document (directly), one shared through a folder,
    and a private one; linked to the CCAS, not to the association."""
    safe = beneficiary.safe
    owner = owner_viewer(beneficiary)
    client = Client()
    client.force_login(beneficiary)
    for name in ("partage.pdf", "dans-dossier.pdf", "prive.pdf"):
        upload(client, pdf_bytes(name), name=name)
    documents = {bytes(d.name_sealed) and d for d in Document.objects.all()}
    from beffroi.safe.keys import safe_key
    from beffroi.safe.services.documents import document_name

    key = safe_key(safe)
    by_name = {document_name(d, key): d for d in documents}
    folder = folder_create(viewer=owner, safe=safe, name="Logement")
    Document.objects.filter(pk=by_name["dans-dossier.pdf"].pk).update(folder=folder)
    link = link_propose(actor=social_worker, organisation=ccas, safe=safe, send_code=False)
    Link.objects.filter(pk=link.pk).update(status=Link.Status.ACTIVE)
    link.refresh_from_db()
    share_set(viewer=owner, link=link, item=by_name["partage.pdf"], shared=True, label="partage.pdf")
    share_set(viewer=owner, link=link, item=folder, shared=True, label="Logement")
    return {"link": link, "shared": by_name["partage.pdf"], "in_folder": by_name["dans-dossier.pdf"],
            "private": by_name["prive.pdf"], "folder": folder}


def _pro_url(link, document):
    return f"/accompagnement/coffres/{link.pk}/documents/{document.pk}/fichier/"


def test_the_access_matrix(matrix, beneficiary, ccas, association, social_worker):
    link = matrix["link"]
    owner = Client()
    owner.force_login(beneficiary)
    pro = sign_in_with_second_factor(Client(), social_worker)
    outsider = sign_in_with_second_factor(Client(), make_staff(association, Membership.Role.SOCIAL_WORKER))
    agent = sign_in_with_second_factor(Client(), make_staff(ccas, Membership.Role.AGENT))
    other_beneficiary = Client()
    other_beneficiary.force_login(safe_open(username="paul.r", password=PASSWORD).owner)
    anonymous = Client()
    documents = [matrix["shared"], matrix["in_folder"], matrix["private"]]

    for document in documents:
        assert owner.get(f"/coffre/documents/{document.pk}/fichier/").status_code == 200
        assert other_beneficiary.get(f"/coffre/documents/{document.pk}/fichier/").status_code == 404
        assert anonymous.get(f"/coffre/documents/{document.pk}/fichier/").status_code == 302  # to the sign-in page
        for client in (outsider, agent, other_beneficiary, anonymous):
            assert client.get(_pro_url(link, document)).status_code in (302, 403, 404)
    # The CCAS sees what is shared with it, directly or through a folder; not the rest.
    assert download(pro, _pro_url(link, matrix["shared"])).startswith(b"%PDF")
    assert download(pro, _pro_url(link, matrix["in_folder"])).startswith(b"%PDF")
    assert pro.get(_pro_url(link, matrix["private"])).status_code == 404
    assert pro.get(f"/coffre/documents/{matrix['shared'].pk}/fichier/").status_code == 403  # not their safe
    listing = pro.get(f"/accompagnement/coffres/{link.pk}/").content.decode()
    assert "partage.pdf" in listing and "dans-dossier.pdf" in listing and "prive.pdf" not in listing
    assert outsider.get(f"/accompagnement/coffres/{link.pk}/").status_code == 404
    # The owner's journal names the professional and the organisation.
    event = SafeEvent.objects.filter(safe=beneficiary.safe, action="document.download", organisation=ccas).first()
    assert event is not None and "CCAS de Haisnes" in event.actor_label

    # Broken: nothing any more, and open pages are told at once.
    link_break(actor=beneficiary, link=link)
    for document in documents:
        assert pro.get(_pro_url(link, document)).status_code == 404
    assert pro.get(f"/accompagnement/coffres/{link.pk}/").status_code == 404
    assert not Share.objects.filter(link=link).exists()
    assert Event.objects.filter(channel=f"safe-link:{link.pk}", type="link.broken").exists()
    assert JournalEntry.objects.filter(action="safe_link.break").exists()


def test_a_download_stops_when_the_link_breaks(matrix, beneficiary, social_worker):
    from beffroi.safe.access import Viewer
    from beffroi.safe.downloads import _stream
    from beffroi.safe.keys import document_key, safe_key

    link = matrix["link"]
    big = pdf_bytes() * 6000  # ~18 MB: 18 chunks, re-checked every 8
    client = Client()
    client.force_login(beneficiary)
    upload(client, big, name="gros.pdf")
    document = Document.objects.order_by("-created_at").first()
    share_set(viewer=Viewer(beneficiary), link=link, item=document, shared=True, label="gros.pdf")
    doc_key = document_key(safe_key(document.safe), document)
    stream = _stream(document, doc_key, link.pk)
    received = [next(stream) for _ in range(4)]
    link_break(actor=beneficiary, link=link)
    received += list(stream)
    assert 4 <= len(received) <= 8 < 18


def test_professionals_need_a_second_factor_and_a_role(client, social_worker, ccas):
    client.force_login(social_worker)
    assert client.get("/accompagnement/").status_code == 302  # to the second factor
    editor = sign_in_with_second_factor(Client(), make_staff(ccas, Membership.Role.EDITOR))
    assert editor.get("/accompagnement/").status_code == 403


def test_a_large_damaged_document_is_cut_never_altered(owner_client, monkeypatch):
    """Above VERIFY_FIRST_MAX a document streams at once: the good chunks go out,
    the bad one never does, and the response ends there."""
    from beffroi.safe.crypto import TamperedError
    from beffroi.safe.services import documents

    monkeypatch.setattr(documents, "VERIFY_FIRST_MAX", 1024)
    content = bytes(range(256)) * 4096 * 3  # 3 MiB: three chunks
    upload(owner_client, b"%PDF-" + content[5:])
    document = Document.objects.get()
    path = Path(settings.STORAGES["private"]["OPTIONS"]["location"]) / document.storage_name
    data = bytearray(path.read_bytes())
    data[-200] ^= 0x01  # in the last chunk
    path.write_bytes(bytes(data))
    response = owner_client.get(f"/coffre/documents/{document.pk}/fichier/")
    assert response.status_code == 200 and int(response["Content-Length"]) == len(content)
    received = []
    with pytest.raises(TamperedError):
        for chunk in response.streaming_content:
            received.append(chunk)
    assert b"".join(received) == (b"%PDF-" + content[5:])[: 2 * 1024 * 1024]
