"""A few clients on a weak connection hold no Django thread: with two threads,
slow uploads (a safe document, a report's photos) and downloads nobody reads
leave the site answering everyone else."""

import socket
import time

import requests
from django.conf import settings
from django.test import Client

from beffroi.safe.access import Viewer
from beffroi.safe.services.accounts import safe_open
from beffroi.safe.services.documents import document_store
from beffroi.safe.uploads import _Sealer
from conftest import LiveServer

SLOW_UPLOADS = 3
SLOW_DOWNLOADS = 3


def _stored_document(user, size: int):
    safe = user.safe
    sealer = _Sealer(safe.pk)
    sealer.add(b"%PDF-1.4\n" + b"x" * (size - 9))
    upload = sealer.finish("relevé.pdf")
    try:
        return document_store(viewer=Viewer(user), safe=safe, upload=upload, name="Relevé", folder_id=None,
                              expires_on=None)
    finally:
        upload.close()


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def test_slow_clients_leave_the_site_answering(transactional_db, commune, settings):
    settings.WEB_THREADS = 2
    user = safe_open(username="jeanne.m", password="Coffre-fort-2026!", first_name="Jeanne").owner
    document = _stored_document(user, 4 * 1024 * 1024)
    cookie = _session_cookie(user)
    server = LiveServer().start()
    held = []
    try:
        for _ in range(SLOW_UPLOADS):  # a safe document trickling in
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(f"POST /coffre/documents/ajouter/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
                         "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 3000000\r\n\r\n".encode()
                         + b"--b\r\n" + b"x" * 20_000)
            held.append(sock)
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)  # a report's photos
        sock.sendall(b"POST /signaler/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                     b"Content-Length: 5000000\r\n\r\n--b\r\n" + b"p" * 20_000)
        held.append(sock)
        for _ in range(SLOW_DOWNLOADS):  # a document nobody reads
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(10)
            sock.connect(("127.0.0.1", server.port))
            sock.sendall(f"GET /coffre/documents/{document.pk}/fichier/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         f"Cookie: {cookie}\r\n\r\n".encode())
            held.append(sock)
        deadline = time.monotonic() + 10  # every slow request has reached the server and waits on its client
        while len(server.server.server_state.tasks) < len(held):
            assert time.monotonic() < deadline, "the slow requests did not all reach the server"
            time.sleep(0.01)
        with requests.Session() as browser:
            for path in ("/signaler/", "/signalements/", "/actualites/?page=1"):
                assert browser.get(server.url + path, timeout=15).status_code == 200, path
            assert browser.get(server.url + "/coffre/", headers={"Cookie": cookie}, timeout=15).status_code == 200
    finally:
        for sock in held:
            sock.close()
        server.stop()
