from django.db import transaction

from beffroi.info.models import Post
from beffroi.info.services import post_create, post_transition


def _published_news(commune, actor, title):
    with transaction.atomic():
        post = post_create(actor=actor, commune=commune, kind=Post.Kind.NEWS, fields={"title": title, "summary": "Résumé"})
    return post_transition(actor=actor, post=post, action="publish")


def test_each_host_name_serves_its_own_commune_only(client, commune, other_commune, editor):
    from conftest import make_staff

    other_editor = make_staff(other_commune)
    mine = _published_news(commune, editor, "Fête de Haisnes")
    theirs = _published_news(other_commune, other_editor, "Fête de Douvrin")

    home = client.get("/").content.decode()
    assert "Fête de Haisnes" in home and "Fête de Douvrin" not in home
    other_home = client.get("/", HTTP_HOST="douvrin.testserver").content.decode()
    assert "Fête de Douvrin" in other_home and "Fête de Haisnes" not in other_home

    # Another commune's post is not found through this host, by any door.
    assert client.get(theirs.get_absolute_url()).status_code == 404
    assert client.get(mine.get_absolute_url(), HTTP_HOST="douvrin.testserver").status_code == 404
    assert "Fête de Douvrin" not in client.get("/rss.xml").content.decode()
    assert "Fête de Douvrin" not in client.get("/api/v1/posts").content.decode()
    assert client.get(f"/api/v1/posts/{theirs.pk}").status_code == 404


def test_an_unknown_host_name_serves_nothing(client, commune, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "inconnue.example"]
    response = client.get("/", HTTP_HOST="inconnue.example")
    assert response.status_code == 404
    assert "Aucune commune" in response.content.decode()


def test_host_names_are_matched_without_port_and_case(client, commune):
    assert client.get("/", HTTP_HOST="TestServer:8000").status_code == 200
