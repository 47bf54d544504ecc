"""Who holds a follow link, and what it opens: the author's link the author's
view; a follower's link (someone who followed the report instead of filing it
again) the public view only, at every door that takes a token."""

import asyncio
import io
import json
from importlib import import_module

import aiohttp
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tasks_db.models import DBTaskResult
from PIL import Image

from beffroi.core.images import sanitize_image
from beffroi.core.models import Membership
from beffroi.realtime.models import Event
from beffroi.reports.models import (
    CategoryQuestion,
    FollowToken,
    Report,
    ReportEntry,
    ReportPhoto,
    ReportSubscription,
)
from beffroi.reports.selectors import follow_for_token
from beffroi.reports.services.agents import report_agent_photo, report_message, report_moderate, report_transition
from beffroi.reports.services.submission import report_author_message, report_follow, report_submit
from beffroi.reports.tasks import push_followers
from conftest import make_staff
from fakes.push_service import FakePushService

# What only the author and the agents may read.
AUTHOR_ONLY = {
    "address": "12 rue des Secrets",
    "description": "Description que seul l’auteur a écrite",
    "answer": "Réponse de l’auteur à la question",
    "message": "Message de l’auteur aux agents",
    "status text": "Mot de l’agent à l’auteur en prenant en compte",
    "reply": "Réponse de la mairie à l’auteur",
    "question": "Question de la mairie à l’auteur",
}
PUBLIC_TEXT = "Intervention prévue mardi."


def _jpeg(colour="gray") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def _token(location: str) -> str:
    return location.split("/")[2]


@pytest.fixture
def agent(territory):
    return make_staff(territory["commune"], Membership.Role.AGENT)


@pytest.fixture
def followed(territory, agent):
    """A report with everything an author and the agents exchange, an approved
    photo and a public text; followed through the public page's button."""
    CategoryQuestion.objects.create(category=territory["pothole"], code="details", label="Précisez", kind="text")
    submission = report_submit(
        commune=territory["commune"], category=territory["pothole"], description=AUTHOR_ONLY["description"],
        address=AUTHOR_ONLY["address"], answers={"details": [AUTHOR_ONLY["answer"]]},
        photos=[sanitize_image(_jpeg("red")), sanitize_image(_jpeg("blue"))],
    )
    report = submission.report
    author_link = follow_for_token(submission.token)
    report_author_message(follow=author_link, text=AUTHOR_ONLY["message"])
    report_transition(actor=agent, report=report, action="acknowledge", text=AUTHOR_ONLY["status text"])
    report_message(actor=agent, report=report, kind="reply", text=AUTHOR_ONLY["reply"])
    report_message(actor=agent, report=report, kind="question", text=AUTHOR_ONLY["question"])
    agent_photo = report_agent_photo(actor=agent, report=report, image=sanitize_image(_jpeg("green")))
    approved, unapproved = ReportPhoto.objects.filter(report=report, by_agent=False).order_by("pk")
    report_moderate(actor=agent, report=report, public_text=PUBLIC_TEXT, public_photo_ids=[approved.pk])
    response = Client().post(f"/signalements/{report.code}/suivre/")
    assert response.status_code == 302
    return {
        "report": report, "author": submission.token, "follower": _token(response["Location"]),
        "approved": approved, "unapproved": unapproved, "agent_photo": agent_photo,
    }


def _follow_pages(client, token) -> str:
    """The follow-up page and its timeline, as the page's script reloads it."""
    page = client.get(f"/suivi/{token}/?nouveau=1")
    timeline = client.get(f"/suivi/{token}/chronologie/")
    assert page.status_code == timeline.status_code == 200
    assert page["Cache-Control"] == timeline["Cache-Control"] == "private, no-store"
    return page.content.decode() + timeline.content.decode()


def test_the_follow_access_matrix(client, followed):
    report = followed["report"]
    assert follow_for_token(followed["author"]).role == FollowToken.Role.AUTHOR
    assert follow_for_token(followed["follower"]).role == FollowToken.Role.FOLLOWER

    # The author's view is unchanged: their address, their answers, the messages, every photo.
    author = _follow_pages(client, followed["author"])
    for name in ("address", "answer", "message", "status text", "reply", "question"):
        assert AUTHOR_ONLY[name] in author, name
    assert "Merci, votre signalement est bien parti." in author
    assert "Ajouter une précision ou une photo" in author
    for photo in ReportPhoto.objects.filter(report=report):
        assert client.get(f"/suivi/{followed['author']}/photo/{photo.pk}/480/").status_code == 200

    # A follower: the public view, never anything the author sent or the agents wrote to the author.
    follower = _follow_pages(client, followed["follower"])
    for name, text in AUTHOR_ONLY.items():
        assert text not in follower, name
    assert report.code in follower and "Nid-de-poule" in follower and "Pris en compte" in follower
    assert PUBLIC_TEXT in follower
    assert f"/signalements/photo/{followed['approved'].pk}/480/" in follower
    assert "Vous suivez ce signalement." in follower and "Vous</strong>" not in follower
    assert "Ajouter une précision ou une photo" not in follower
    photo_url = f"/suivi/{followed['follower']}/photo/{{}}/480/"
    assert client.get(photo_url.format(followed["approved"].pk)).status_code == 200
    for photo in (followed["unapproved"], followed["agent_photo"]):
        assert client.get(photo_url.format(photo.pk)).status_code == 404

    # The public page and Open311 show no more than a follower sees.
    public = client.get(f"/signalements/{report.code}/").content.decode()
    [request] = client.get(f"/open311/v2/requests/{report.code}.json").json()
    open311 = json.dumps(request, ensure_ascii=False)
    for name, text in AUTHOR_ONLY.items():
        assert text not in public and text not in open311, name
    assert request["description"] == PUBLIC_TEXT

    # Unknown links open nothing.
    assert client.get("/suivi/inconnu/").status_code == 404
    assert client.get(f"/suivi/inconnu/photo/{followed['approved'].pk}/480/").status_code == 404


def test_a_follower_cannot_write_as_the_author(client, followed):
    report = followed["report"]
    entries, photos = ReportEntry.objects.count(), ReportPhoto.objects.count()
    events = Event.objects.count()
    response = client.post(
        f"/suivi/{followed['follower']}/",
        {"text": "Je me fais passer pour l’auteur", "photos": SimpleUploadedFile("x.jpg", _jpeg(), "image/jpeg")},
    )
    assert response.status_code == 403
    assert "seul son auteur peut ajouter une précision ou une photo" in response.content.decode()
    assert (ReportEntry.objects.count(), ReportPhoto.objects.count(), Event.objects.count()) == (entries, photos, events)
    # The service refuses it too, whoever calls it.
    with pytest.raises(PermissionDenied):
        report_author_message(follow=follow_for_token(followed["follower"]), text="Moi aussi")
    assert ReportEntry.objects.filter(report=report, kind=ReportEntry.Kind.AUTHOR).count() == 1
    # The author still can.
    assert client.post(f"/suivi/{followed['author']}/", {"text": "Précision"}).status_code == 302


@pytest.fixture
def push_service(settings):
    with FakePushService() as service:
        settings.PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
        yield service


def _subscribe(client, token, subscription):
    return client.post(f"/suivi/{token}/notifications/", json.dumps(subscription.as_json()),
                       content_type="application/json")


def _run_push_jobs() -> None:
    """What the worker does with the push jobs the services queued."""
    for job in DBTaskResult.objects.filter(task_path=push_followers.module_path, status="READY").order_by("pk"):
        push_followers.func(*job.args_kwargs["args"], **job.args_kwargs["kwargs"])
        job.delete()


def test_a_followers_device_is_told_of_public_steps_only(client, territory, agent, push_service):
    submission = report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou",
                               address="Rue A")
    follower = report_follow(report=submission.report)
    author_device, follower_device = push_service.subscribe(), push_service.subscribe()
    assert _subscribe(client, submission.token, author_device).status_code == 201
    assert _subscribe(client, follower, follower_device).status_code == 201
    roles = dict(ReportSubscription.objects.values_list("endpoint", "role"))
    assert roles == {author_device.endpoint: "author", follower_device.endpoint: "follower"}
    # The author's device followed the report as a follower too: it stays the author's.
    assert _subscribe(client, follower, author_device).status_code == 201
    assert ReportSubscription.objects.get(endpoint=author_device.endpoint).role == "author"

    report_message(actor=agent, report=submission.report, kind="question", text="Le trou est-il profond ?")
    _run_push_jobs()
    assert [d.subscription_id for d in push_service.received] == [author_device.id]
    report_transition(actor=agent, report=submission.report, action="acknowledge")
    _run_push_jobs()
    told = sorted(d.subscription_id for d in push_service.received[1:])
    assert told == sorted([author_device.id, follower_device.id])
    assert json.loads(push_service.received[-1].plaintext)["title"] == "Pris en compte : Nid-de-poule"


def test_a_merge_keeps_each_link_in_its_role(client, territory, agent, push_service):
    original = report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou",
                             address="Adresse de l’auteur de l’original")
    original_follower = report_follow(report=original.report)
    duplicate = report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou aussi",
                              address="Adresse de l’auteur du doublon")
    duplicate_follower = report_follow(report=duplicate.report)
    shared_device, duplicate_device = push_service.subscribe(), push_service.subscribe()
    assert _subscribe(client, original.token, shared_device).status_code == 201
    assert _subscribe(client, duplicate.token, shared_device).status_code == 201
    assert _subscribe(client, duplicate.token, duplicate_device).status_code == 201

    report_transition(actor=agent, report=duplicate.report, action="mark_duplicate", duplicate_of=original.report)

    roles = {token: follow_for_token(token) for token in
             (original.token, original_follower, duplicate.token, duplicate_follower)}
    assert all(link.report == original.report for link in roles.values())
    assert roles[original.token].role == FollowToken.Role.AUTHOR
    for token in (original_follower, duplicate.token, duplicate_follower):
        assert roles[token].role == FollowToken.Role.FOLLOWER
    # The duplicate's author reads the original's public view, not its author's address.
    page = _follow_pages(client, duplicate.token)
    assert "Adresse de l’auteur de l’original" not in page and "a été fusionné avec celui-ci" in page
    assert client.post(f"/suivi/{duplicate.token}/", {"text": "Encore moi"}).status_code == 403
    assert "Adresse de l’auteur de l’original" in _follow_pages(client, original.token)
    # Devices follow along as followers'; one that was already the original author's stays so.
    subscriptions = dict(ReportSubscription.objects.values_list("endpoint", "role"))
    assert subscriptions == {shared_device.endpoint: "author", duplicate_device.endpoint: "follower"}
    assert set(ReportSubscription.objects.values_list("report_id", flat=True)) == {original.report.pk}


# --- The live stream ------------------------------------------------------------------------


async def _read_events(url, *, until: int) -> list[tuple[int, dict]]:
    """The events a stream sends, up to the one with id ``until``."""
    received = []
    async with aiohttp.ClientSession() as session:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
            assert response.status == 200
            event_id = None
            async for line in response.content:
                if line.startswith(b"id:"):
                    event_id = int(line[3:])
                elif line.startswith(b"data:"):
                    received.append((event_id, json.loads(line[5:])))
                    if event_id >= until:
                        return received
    return received


@pytest.mark.django_db(transaction=True)
def test_a_followers_stream_carries_nothing_author_only(live_server_asgi, territory):
    agent = make_staff(territory["commune"], Membership.Role.AGENT)
    submission = report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou",
                               address="Rue A")
    report = submission.report
    follower = report_follow(report=report)
    before = Event.objects.order_by("-id").values_list("id", flat=True).first()

    # Author-only steps: the author's message, an agent's reply, question and photo.
    report_author_message(follow=follow_for_token(submission.token), text="Précision")
    report_message(actor=agent, report=report, kind="reply", text="Merci")
    report_message(actor=agent, report=report, kind="question", text="Profond ?")
    report_agent_photo(actor=agent, report=report, image=sanitize_image(_jpeg()))
    author_only = set(Event.objects.filter(id__gt=before, channel=f"report-author:{report.pk}").values_list("id", flat=True))
    # Then a public one.
    report_transition(actor=agent, report=report, action="acknowledge")
    last = Event.objects.order_by("-id").values_list("id", flat=True).first()
    live_server_asgi.wait_for_events()

    def stream(token):
        url = f"{live_server_asgi.url}/flux/signalement?jeton={token}&since={before}"
        return asyncio.run(_read_events(url, until=last))

    follower_events = stream(follower)
    assert [event_id for event_id, _ in follower_events] == [last]
    assert follower_events[0][1] == {"status": "acknowledged", "status_label": "Pris en compte"}
    assert len(author_only) == 4
    author_events = [event_id for event_id, _ in stream(submission.token)]
    assert author_events == [*sorted(author_only), last]


def test_existing_links_get_their_roles_back(territory, agent):
    """The migration: every link was a follower's, the author's is found again."""
    migration = import_module("beffroi.reports.migrations.0003_follow_roles")
    from django.apps import apps

    alone = report_submit(commune=territory["commune"], category=territory["pothole"], description="A", address="Rue")
    followed = report_submit(commune=territory["commune"], category=territory["pothole"], description="B", address="Rue")
    follower = report_follow(report=followed.report)
    duplicate = report_submit(commune=territory["commune"], category=territory["pothole"], description="C",
                              address="Rue")
    report_transition(actor=agent, report=duplicate.report, action="mark_duplicate", duplicate_of=followed.report)
    for report in (alone.report, followed.report):
        ReportSubscription.objects.create(report=report, endpoint=f"https://push.example/{report.pk}", p256dh="k",
                                          auth="a", role="author")
    FollowToken.objects.update(role=FollowToken.Role.FOLLOWER)
    ReportSubscription.objects.update(role=FollowToken.Role.FOLLOWER)

    migration.set_roles(apps, None)

    roles = {token: follow_for_token(token).role for token in (alone.token, followed.token, follower, duplicate.token)}
    assert roles == {alone.token: "author", followed.token: "author", follower: "follower", duplicate.token: "follower"}
    # A device is the author's only where the author's link is the report's only one.
    assert dict(ReportSubscription.objects.values_list("report_id", "role")) == {
        alone.report.pk: "author", followed.report.pk: "follower",
    }
    assert Report.objects.count() == 3
