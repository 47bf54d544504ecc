"""The uploader's door: the file as the request's body, its details in the
X-Document header. Refusals come before anything is read or kept."""

import hashlib
import socket
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client, RequestFactory

from beffroi.safe.keys import safe_key
from beffroi.safe.models import Document, Safe
from beffroi.safe.services import links as link_services
from beffroi.safe.services.documents import document_name, folder_create
from beffroi.safe.tests.conftest import jpeg_bytes, owner_viewer, pdf_bytes
from conftest import sign_in_with_second_factor

URL = "/coffre/documents/envoyer/"


def stored_files() -> list[Path]:
    return list((Path(settings.STORAGES["private"]["OPTIONS"]["location"])).glob("coffre/*"))


def temporary_files() -> list[Path]:
    return list(Path(settings.FILE_UPLOAD_TEMP_DIR).glob("beffroi-safe-*"))


def send(client, content: bytes, url=URL, token=None, **details):
    details.setdefault("filename", "Carte d’identité.pdf")
    headers = {"X-Document": urlencode(details), "Accept": "application/json"}
    if token:
        headers["X-CSRFToken"] = token
    return client.generic("POST", url, content, content_type="application/octet-stream", headers=headers,
                          CONTENT_LENGTH=str(len(content)))


def csrf_client(user) -> tuple[Client, str]:
    """A client that checks CSRF as a browser's requests are checked, and the page's token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/coffre/")
    assert page.status_code == 200
    return client, str(page.context["csrf_token"])


def test_the_file_sent_as_the_body_is_stored_encrypted_with_its_details(beneficiary):
    client, token = csrf_client(beneficiary)
    folder = folder_create(viewer=owner_viewer(beneficiary), safe=beneficiary.safe, name="Santé")
    content = pdf_bytes("TEMOIN-CORPS") * 800  # ~2.4 MB: several pieces
    response = send(client, content, token=token, name="Carte Vitale — été", folder=folder.pk, expires_on="2031-05-01")
    assert response.status_code == 200 and response.json() == {"url": "/coffre/"}
    document = Document.objects.get()
    assert document.folder == folder and str(document.expires_on) == "2031-05-01"
    assert document_name(document, safe_key(beneficiary.safe)) == "Carte Vitale — été"
    assert document.size == len(content) and document.sha256 == hashlib.sha256(content).hexdigest()
    stored = stored_files()[0].read_bytes()
    assert b"TEMOIN-CORPS" not in stored and b"%PDF" not in stored
    assert b"".join(client.get(f"/coffre/documents/{document.pk}/fichier/").streaming_content) == content
    # Without a name, the file's own.
    send(client, jpeg_bytes(), token=token, filename="photo du bail.jpg")
    names = {document_name(d, safe_key(beneficiary.safe)) for d in Document.objects.all()}
    assert names == {"Carte Vitale — été", "photo du bail.jpg"}
    assert Safe.objects.get().used_bytes == len(content) + len(jpeg_bytes())


def test_without_the_csrf_header_nothing_is_read_or_kept(beneficiary):
    client, _token = csrf_client(beneficiary)
    response = send(client, pdf_bytes())
    assert response.status_code == 403
    assert not Document.objects.exists() and not stored_files()


def test_refusals_in_french_before_reading(beneficiary):
    client, token = csrf_client(beneficiary)
    limit = settings.SAFE_MAX_DOCUMENT_MB * 1024 * 1024
    cases = [
        # (what is sent, extra headers, status, message)
        (pdf_bytes(), {"expires_on": "31/02/2030"}, 400, "date"),
        (pdf_bytes(), {"folder": "999999"}, 400, "dossier"),
        (b"", {}, 400, "Choisissez un fichier"),
        (b"#!/bin/sh\nrm -rf /\n", {}, 400, "Type de fichier non accepté"),
        (b"<html><script>alert(1)</script>", {"filename": "page.html"}, 400, "Type de fichier non accepté"),
    ]
    for content, details, status, message in cases:
        response = send(client, content, token=token, **details)
        assert response.status_code == status, (details, response.status_code)
        assert response.json() == {"url": "/coffre/"}
        page = client.get("/coffre/").content.decode()
        assert message.lower() in page.lower(), (message, details)
    # Declared larger than a document may be: refused from the header, the body is never read.
    response = client.generic("POST", URL, b"%PDF-", content_type="application/octet-stream",
                              headers={"X-CSRFToken": token, "X-Document": "filename=gros.pdf", "Accept": "application/json"},
                              CONTENT_LENGTH=str(limit + 1))
    assert response.status_code == 413
    assert "Fichier trop lourd" in client.get("/coffre/").content.decode()
    # Larger than the space left.
    Safe.objects.filter(pk=beneficiary.safe.pk).update(quota_bytes=100)
    assert send(client, pdf_bytes(), token=token).status_code == 413
    assert "Espace insuffisant" in client.get("/coffre/").content.decode()
    assert not Document.objects.exists() and not stored_files() and not temporary_files()


def test_length_missing_is_refused(beneficiary, rf: RequestFactory):
    from beffroi.safe.uploads import UploadRefused, receive_body

    request = rf.generic("POST", URL, b"%PDF-1.4", content_type="application/octet-stream")
    request.META.pop("CONTENT_LENGTH")
    with pytest.raises(UploadRefused) as refused:
        receive_body(request, safe_id=beneficiary.safe.pk, limit=1000, room=1000, name="x.pdf")
    assert refused.value.status == 411 and "Content-Length" in refused.value.message


def test_the_anonymous_are_sent_to_sign_in_and_nothing_is_kept(client, beneficiary):
    response = send(client, pdf_bytes())
    assert response.status_code == 302 and response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    assert not Document.objects.exists() and not stored_files()


def test_a_professional_sends_only_when_allowed(beneficiary, ccas, association, social_worker):
    from beffroi.core.models import Membership
    from conftest import make_staff

    pro = sign_in_with_second_factor(Client(), social_worker)
    link = link_services.link_propose(actor=social_worker, organisation=ccas, safe=beneficiary.safe, send_code=False)
    link = link_services.link_answer(actor=beneficiary, link=link, accept=True)
    url = f"/accompagnement/coffres/{link.pk}/envoyer/"
    response = send(pro, pdf_bytes(), url=url, name="Attestation")
    assert response.status_code == 403 and not Document.objects.exists()
    link_services.link_set_deposit(viewer=owner_viewer(beneficiary), link=link, allowed=True)
    response = send(pro, pdf_bytes(), url=url, name="Attestation")
    assert response.status_code == 200 and response.json() == {"url": f"/accompagnement/coffres/{link.pk}/"}
    document = Document.objects.get()
    assert document.uploaded_for == ccas and document.shares.filter(link=link).exists()
    # A professional of an organisation without a link finds nothing there.
    stranger = sign_in_with_second_factor(Client(), make_staff(association, Membership.Role.SOCIAL_WORKER))
    assert send(stranger, pdf_bytes(), url=url).status_code == 404
    # Once the link is broken, neither.
    link_services.link_break(actor=beneficiary, link=link)
    assert send(pro, pdf_bytes(), url=url).status_code == 404
    assert Document.objects.count() == 1


def _browser_session(port: int, user) -> tuple[str, str, str]:
    """A signed-in browser's session cookie, CSRF cookie and the page's token, through the real server."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"GET /coffre/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {settings.SESSION_COOKIE_NAME}={session}\r\n"
                     "Connection: close\r\n\r\n".encode())
        page = b""
        while chunk := sock.recv(65536):
            page += chunk
    csrf_cookie = page.split(f"{settings.CSRF_COOKIE_NAME}=".encode(), 1)[1].split(b";", 1)[0].decode()
    token = page.split(b'name="csrfmiddlewaretoken" value="', 1)[1].split(b'"', 1)[0].decode()
    return session, csrf_cookie, token


def test_a_body_cut_short_keeps_nothing_and_the_server_goes_on(live_server_asgi):
    """Through the real server: the client announces 8 MB, sends 3 and goes away."""
    from beffroi.safe.services.accounts import safe_open

    user = safe_open(username="paul.c", password="Coffre-fort-2026!", first_name="Paul").owner
    session, csrf_cookie, token = _browser_session(live_server_asgi.port, user)
    before = set(temporary_files())  # other tests' uploads may still wait for the garbage collector
    with socket.create_connection(("127.0.0.1", live_server_asgi.port)) as sock:
        sock.sendall(
            f"POST {URL} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf_cookie}\r\n"
            f"X-CSRFToken: {token}\r\nX-Document: filename=coupe.pdf\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {8 * 1024 * 1024}\r\n\r\n".encode()
        )
        sock.sendall(pdf_bytes() + b"x" * (3 * 1024 * 1024))
    # The edge receives a body whole before the view runs: a cut one never
    # reaches it, and its spool (a file without a name) goes with the request.
    deadline = time.monotonic() + 10
    while live_server_asgi.server.server_state.tasks:
        assert time.monotonic() < deadline, "the cut request never ended"
        time.sleep(0.01)
    assert not set(temporary_files()) - before, "a temporary file was left"
    assert not stored_files() and not Document.objects.exists()
    # The same server still takes a whole one.
    content = pdf_bytes("ENTIER") * 2000
    with socket.create_connection(("127.0.0.1", live_server_asgi.port)) as sock:
        sock.sendall(
            f"POST {URL} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf_cookie}\r\n"
            f"X-CSRFToken: {token}\r\nX-Document: filename=entier.pdf\r\nContent-Type: application/octet-stream\r\n"
            f"Accept: application/json\r\nConnection: close\r\nContent-Length: {len(content)}\r\n\r\n".encode() + content
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert Document.objects.get().sha256 == hashlib.sha256(content).hexdigest()


def _answer_without_body(port: int, head: str) -> bytes:
    """Send only the headers, as a client waiting for "100 Continue" does, and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b"Expect: 100-continue\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
    return answer


def test_through_the_edge_refusals_come_before_a_byte_of_the_file(live_server_asgi):
    """The edge asks the view before receiving a large body: the anonymous, a
    file over the limit or over the space left are answered on the headers."""
    from beffroi.safe.services.accounts import safe_open

    user = safe_open(username="lea.d", password="Coffre-fort-2026!", first_name="Léa").owner
    session, csrf_cookie, token = _browser_session(live_server_asgi.port, user)
    head = (f"POST {URL} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Document: filename=gros.pdf\r\nAccept: application/json\r\n"
            f"Content-Type: application/octet-stream\r\nX-CSRFToken: {token}\r\n")
    anonymous = _answer_without_body(
        live_server_asgi.port, head + f"Cookie: {settings.CSRF_COOKIE_NAME}={csrf_cookie}\r\nContent-Length: 50000000\r\n")
    assert anonymous.startswith(b"HTTP/1.1 302") and b"100 Continue" not in anonymous
    signed_in = head + f"Cookie: {settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf_cookie}\r\n"
    too_heavy = settings.SAFE_MAX_DOCUMENT_MB * 1024 * 1024 + 1
    Safe.objects.filter(owner=user).update(quota_bytes=2_000_000)
    for length in (too_heavy, 3_000_000):  # over the limit, then over the space left
        answer = _answer_without_body(live_server_asgi.port, signed_in + f"Content-Length: {length}\r\n")
        assert answer.startswith(b"HTTP/1.1 413") and b"100 Continue" not in answer
    assert not Document.objects.exists() and not stored_files() and not temporary_files()



def test_through_the_edge_a_chunked_form_is_refused_before_its_body(live_server_asgi):
    """The form's door learns the size from Content-Length: without it (a chunked body), it answers
    before receiving anything, instead of taking up to the largest document into the spool."""
    from beffroi.safe.services.accounts import safe_open

    user = safe_open(username="lou.b", password="Coffre-fort-2026!", first_name="Lou").owner
    session, csrf_cookie, token = _browser_session(live_server_asgi.port, user)
    answer = _answer_without_body(
        live_server_asgi.port,
        "POST /coffre/documents/ajouter/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        f"Cookie: {settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf_cookie}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n")
    assert answer.startswith(b"HTTP/1.1 411") and b"100 Continue" not in answer
