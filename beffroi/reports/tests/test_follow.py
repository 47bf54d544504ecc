"""The author's follow-up page and the photos' access rules."""

import asyncio
import io
import json

import aiohttp
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from PIL import Image

from beffroi.core.images import sanitize_image
from beffroi.core.models import Membership
from beffroi.reports.models import ReportEntry, ReportPhoto
from beffroi.reports.services.agents import report_message, report_transition
from beffroi.reports.services.submission import report_submit
from conftest import make_staff, sign_in_with_second_factor


def _jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "gray").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def submission(territory):
    return report_submit(
        commune=territory["commune"], category=territory["pothole"], description="Trou", address="Rue A",
        photos=[sanitize_image(_jpeg())],
    )


def test_the_author_reads_public_steps_only(client, territory, submission):
    agent = make_staff(territory["commune"], Membership.Role.AGENT)
    report_message(actor=agent, report=submission.report, kind="note", text="Note secrète des agents")
    report_message(actor=agent, report=submission.report, kind="question", text="Le trou est-il sur la chaussée ?")
    page = client.get(f"/suivi/{submission.token}/").content.decode()
    assert "Le trou est-il sur la chaussée ?" in page and "Note secrète" not in page
    assert client.get(f"/suivi/{submission.token}x/").status_code == 404


def test_the_author_answers_anonymously_with_a_photo(client, submission):
    response = client.post(
        f"/suivi/{submission.token}/",
        {"text": "Oui, sur la chaussée.", "photos": SimpleUploadedFile("r.jpg", _jpeg(), "image/jpeg")},
    )
    assert response.status_code == 302
    entry = ReportEntry.objects.get(report=submission.report, kind=ReportEntry.Kind.AUTHOR)
    assert entry.by_author and entry.public and entry.photos.count() == 1
    assert client.post(f"/suivi/{submission.token}/", {"text": ""}).status_code == 400


def test_photos_are_private_until_approved(client, territory, submission):
    photo = ReportPhoto.objects.get(report=submission.report)
    # The author sees it; the public does not.
    assert client.get(f"/suivi/{submission.token}/photo/{photo.pk}/480/").status_code == 200
    assert client.get(f"/signalements/photo/{photo.pk}/480/").status_code == 404
    response = client.get(f"/suivi/{submission.token}/photo/{photo.pk}/480/")
    assert response["Content-Type"] == "image/webp" and response["Cache-Control"] == "private, no-store"
    # An agent approves it: now public.
    agent = make_staff(territory["commune"], Membership.Role.AGENT)
    sign_in_with_second_factor(client, agent)
    client.post(f"/gestion/signalements/{submission.report.code}/publication/", {"public_text": "Trou signalé.", "photos": [str(photo.pk)]})
    client.logout()
    assert client.get(f"/signalements/photo/{photo.pk}/480/").status_code == 200
    assert "Trou signalé." in client.get(f"/signalements/{submission.report.code}/").content.decode()
    # The author's own text is never on the public page.
    assert "Trou\n" not in client.get(f"/signalements/{submission.report.code}/").content.decode()


async def _first_event(url, headers=None, *, after):
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers or {}, timeout=aiohttp.ClientTimeout(total=10)) as response:
            if response.status != 200:
                return response.status, None
            await asyncio.sleep(0.2)
            await asyncio.to_thread(after)
            async for line in response.content:
                if line.startswith(b"data:"):
                    return 200, json.loads(line[5:])
    return None, None


@pytest.mark.django_db(transaction=True)
def test_the_follow_page_and_the_console_are_told_live(live_server_asgi, territory, client):
    submission = report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou", address="Rue A")
    agent = make_staff(territory["commune"], Membership.Role.AGENT)

    def acknowledge():
        with transaction.atomic():
            report_transition(actor=agent, report=submission.report, action="acknowledge")

    url = f"{live_server_asgi.url}/flux/signalement?jeton={submission.token}"
    status, data = asyncio.run(_first_event(url, after=acknowledge))
    assert status == 200 and data == {"status": "acknowledged", "status_label": "Pris en compte"}

    # The console stream needs an agent's session with its second factor.
    sign_in_with_second_factor(client, agent)
    cookie = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}

    def new_report():
        report_submit(commune=territory["commune"], category=territory["pothole"], description="Autre", address="Rue B")

    status, data = asyncio.run(_first_event(f"{live_server_asgi.url}/flux/gestion", cookie, after=new_report))
    assert status == 200 and data["report"]["category"] == "Voirie › Nid-de-poule"
    assert asyncio.run(_first_event(f"{live_server_asgi.url}/flux/gestion", after=lambda: None))[0] == 403
    bad = f"{live_server_asgi.url}/flux/signalement?jeton=inconnu"
    assert asyncio.run(_first_event(bad, after=lambda: None))[0] == 404
