"""The editors' back office: forms, uploads, actions, and bad input."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from beffroi.core.models import JournalEntry, Membership, Sector
from beffroi.info.models import Post
from beffroi.realtime.models import Event
from conftest import sign_in_with_second_factor


def _jpeg(size=(1200, 800)) -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "MarqueTemoin"
    Image.new("RGB", size, (30, 90, 160)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def _files(settings):
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_editor_writes_a_news_item_with_an_image(editor_client, commune, topic, sector, settings):
    response = editor_client.post(
        "/gestion/publications/nouvelle/news/",
        {
            "title": "Nouvelle médiathèque",
            "summary": "Ouverture samedi.",
            "body": "Venez **nombreux**.",
            "topic": topic.pk,
            "sectors": [sector.pk],
            "image": SimpleUploadedFile("photo.jpg", _jpeg(), "image/jpeg"),
            "image_alt": "Façade de la médiathèque",
        },
    )
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.status == Post.Status.DRAFT and post.kind == Post.Kind.NEWS
    assert list(post.sectors.all()) == [sector]
    assert post.image and sorted(post.image_renditions) == ["1200", "480", "960"]
    stored = _files(settings)
    assert len(stored) == 4
    assert all(b"MarqueTemoin" not in path.read_bytes() for path in stored)
    assert "photo" not in post.image.name  # uploaded names are not kept
    assert JournalEntry.objects.get().action == "post.create"

    response = editor_client.post(f"/gestion/publications/{post.pk}/action/", {"action": "publish"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert Event.objects.filter(type="post.published").count() == 1


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (b"%PDF-1.4 ceci n'est pas une image", "pas une image lisible"),
        (_jpeg()[:2000], "incomplète ou endommagée"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_written(editor_client, commune, settings, upload, message):
    response = editor_client.post(
        "/gestion/publications/nouvelle/news/",
        {"title": "Titre", "image": SimpleUploadedFile("x.jpg", upload, "image/jpeg"), "image_alt": "Description"},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Post.objects.exists()
    assert not JournalEntry.objects.exists()
    assert _files(settings) == []


def test_an_image_needs_a_description(editor_client, commune, settings):
    response = editor_client.post(
        "/gestion/publications/nouvelle/news/",
        {"title": "Titre", "image": SimpleUploadedFile("x.jpg", _jpeg(), "image/jpeg")},
    )
    assert response.status_code == 400
    assert "Décrivez l’image" in response.content.decode()
    assert not Post.objects.exists()
    assert _files(settings) == []


def test_an_alert_form_requires_level_message_and_expiry(editor_client, commune):
    response = editor_client.post("/gestion/publications/nouvelle/alert/", {"title": "Alerte"})
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("Ce champ est obligatoire") >= 3
    assert not Post.objects.exists()


def test_scheduling_from_the_back_office(editor_client, commune):
    editor_client.post("/gestion/publications/nouvelle/news/", {"title": "Plus tard", "summary": "Résumé"})
    post = Post.objects.get()
    when = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    editor_client.post(f"/gestion/publications/{post.pk}/action/", {"action": "schedule", "publish_at": when})
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED
    # Past dates and unknown actions are refused without a change.
    editor_client.post(f"/gestion/publications/{post.pk}/action/", {"action": "schedule", "publish_at": "2001-01-01T10:00"})
    response = editor_client.post(f"/gestion/publications/{post.pk}/action/", {"action": "détruire"}, follow=True)
    assert "Action impossible" in response.content.decode()
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED


def test_a_published_post_cannot_be_deleted_until_withdrawn(editor_client, commune):
    editor_client.post("/gestion/publications/nouvelle/news/", {"title": "À supprimer"})
    post = Post.objects.get()
    editor_client.post(f"/gestion/publications/{post.pk}/action/", {"action": "publish"})
    editor_client.post(f"/gestion/publications/{post.pk}/supprimer/")
    assert Post.objects.filter(pk=post.pk).exists()
    editor_client.post(f"/gestion/publications/{post.pk}/action/", {"action": "withdraw"})
    editor_client.post(f"/gestion/publications/{post.pk}/supprimer/")
    assert not Post.objects.filter(pk=post.pk).exists()
    assert JournalEntry.objects.filter(action="post.delete").exists()


def test_another_communes_posts_are_out_of_reach(editor_client, commune, other_commune):
    from beffroi.info.services import post_create
    from conftest import make_staff

    theirs = post_create(actor=make_staff(other_commune), commune=other_commune, kind=Post.Kind.NEWS, fields={"title": "À eux"})
    assert editor_client.get(f"/gestion/publications/{theirs.pk}/").status_code == 404
    editor_client.post(f"/gestion/publications/{theirs.pk}/action/", {"action": "publish"})
    theirs.refresh_from_db()
    assert theirs.status == Post.Status.DRAFT


def test_forms_refuse_requests_without_the_csrf_token(commune, editor):
    client = sign_in_with_second_factor(Client(enforce_csrf_checks=True), editor)
    response = client.post("/gestion/publications/nouvelle/news/", {"title": "Sans jeton"})
    assert response.status_code == 403
    assert "Formulaire expiré" in response.content.decode()
    assert not Post.objects.exists()


def test_a_sector_is_drawn_with_valid_geojson_only(admin_client, commune):
    response = admin_client.post("/gestion/quartiers/ajouter/", {"name": "Nord", "slug": "nord", "area": "{pas du json"})
    assert response.status_code == 400
    assert "pas du JSON valide" in response.content.decode()
    area = '{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[2.7,50.5],[2.8,50.5],[2.8,50.6],[2.7,50.5]]]}}'
    response = admin_client.post("/gestion/quartiers/ajouter/", {"name": "Nord", "slug": "nord", "area": area})
    assert response.status_code == 302
    sector = Sector.objects.get(slug="nord")
    assert sector.area["type"] == "Polygon" and sector.organisation == commune
    assert JournalEntry.objects.filter(action="sector.create").exists()
    assert Event.objects.filter(type="site.changed").exists()


def test_the_commune_colour_must_stay_readable(admin_client, commune):
    response = admin_client.post("/gestion/commune/", {"name": "Haisnes", "brand_colour": "#fff200"})
    assert response.status_code == 400
    assert "trop claire" in response.content.decode()
    commune.refresh_from_db()
    assert commune.brand_colour == "#1d4f91"


def test_inviting_an_agent_sends_a_password_link(admin_client, commune, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/gestion/equipe/inviter/",
            {"first_name": "Léa", "last_name": "Durand", "email": "lea.durand@example.org", "role": "agent"},
        )
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="lea.durand@example.org")
    assert membership.role == "agent" and not membership.user.has_usable_password()
    assert len(mail.outbox) == 1 and "/compte/password/reset/key/" in mail.outbox[0].body
    assert JournalEntry.objects.filter(action="membership.create").exists()


def test_the_last_administrator_cannot_be_demoted(admin_client, commune, administrator):
    membership = Membership.objects.get(user=administrator)
    response = admin_client.post(f"/gestion/equipe/{membership.pk}/", {"role": "editor", "is_active": "on"})
    assert response.status_code == 400
    assert "au moins un administrateur" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == "administrator"
