"""The JSON API through Django's test client: what it shows, to whom, and how it refuses."""

import base64
import json
import logging
import secrets
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection
from django.test import Client
from django.utils import timezone

from beffroi.core.models import Membership, Sector
from beffroi.info.models import FeedSubscription, Post, Screen, Topic
from beffroi.info.services import post_create, post_transition
from conftest import make_staff

DOUVRIN = "douvrin.testserver"
FCM = "https://fcm.googleapis.com/fcm/send/"
# Words that betray an untranslated framework message.
ENGLISH = ("Input should", "Field required", "required", "Cannot parse", "Not Found", "not allowed", "Value error", " or ", "Invalid ")


# --- Helpers ----------------------------------------------------------------------


def publish(actor, commune, kind, *, sectors=(), now=None, **fields):
    """Create and publish through the services, as the back office does."""
    post = post_create(actor=actor, commune=commune, kind=kind, fields=fields, sectors=sectors)
    return post_transition(actor=actor, post=post, action="publish", now=now)


def news(actor, commune, title, **fields):
    return publish(actor, commune, Post.Kind.NEWS, title=title, **fields)


def event(actor, commune, title, starts_at, ends_at=None, **fields):
    return publish(actor, commune, Post.Kind.EVENT, title=title, place="Salle des fêtes", starts_at=starts_at, ends_at=ends_at, **fields)


def alert(actor, commune, title, level=Post.Level.WARNING, hours=6, **fields):
    return publish(
        actor, commune, Post.Kind.ALERT, title=title, summary=f"{title} : soyez prudents.", level=level,
        expires_at=timezone.now() + timedelta(hours=hours), **fields,
    )


def get(client, path, host="testserver", **params):
    return client.get(f"/api/v1{path}", params, HTTP_HOST=host)


def titles(response):
    assert response.status_code == 200, response.content
    data = response.json()
    return [item["title"] for item in (data["items"] if isinstance(data, dict) else data)]


def assert_error(response, status, detail=None, fields=None):
    """A 4xx in the API's one error shape, in French."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    for error in body["errors"]:
        assert set(error) == {"field", "message"} and error["message"]
    text = json.dumps(body, ensure_ascii=False)
    for word in ENGLISH:
        assert word not in text, f"{word!r} in {text}"
    if detail is not None:
        assert detail in body["detail"], body["detail"]
    if fields is not None:
        assert {error["field"] for error in body["errors"]} == set(fields), body["errors"]
    return body


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_keys() -> dict:
    """What a browser's PushSubscription.toJSON() gives: a P-256 point and a 16-byte secret."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"p256dh": b64url(raw), "auth": b64url(secrets.token_bytes(16))}


def subscription(**overrides) -> dict:
    data = {"endpoint": FCM + secrets.token_urlsafe(40), "keys": browser_keys(), "alerts": True, "topics": [], "sectors": []}
    data.update(overrides)
    return data


def subscribe(client, data, host="testserver", **extra):
    return client.post("/api/v1/push/subscriptions", json.dumps(data), content_type="application/json", HTTP_HOST=host, **extra)


def unsubscribe(client, endpoint, auth, host="testserver"):
    body = json.dumps({"endpoint": endpoint, "auth": auth})
    return client.delete("/api/v1/push/subscriptions", body, content_type="application/json", HTTP_HOST=host)


def nothing_written():
    return (
        not FeedSubscription.objects.exists()
        and not FeedSubscription.topics.through.objects.exists()
        and not FeedSubscription.sectors.through.objects.exists()
    )


@pytest.fixture
def other_sector(commune):
    ring = [[2.80, 50.50], [2.81, 50.50], [2.81, 50.51], [2.80, 50.51], [2.80, 50.50]]
    return Sector.objects.create(organisation=commune, name="Gare", slug="gare", area={"type": "Polygon", "coordinates": [ring]})


@pytest.fixture
def douvrin_editor(other_commune):
    return make_staff(other_commune, Membership.Role.EDITOR)


# --- The feed ---------------------------------------------------------------------


def test_published_posts_are_listed_newest_first_with_their_details(client, editor, commune, topic, sector):
    now = timezone.now()
    publish(editor, commune, Post.Kind.NEWS, title="Ancienne", now=now - timedelta(days=2))
    publish(
        editor, commune, Post.Kind.NEWS, title="Récente", summary="Résumé", topic=topic, sectors=[sector],
        now=now - timedelta(hours=1),
    )
    response = get(client, "/posts")
    assert titles(response) == ["Récente", "Ancienne"]
    assert response.json()["count"] == 2
    first = response.json()["items"][0]
    assert first["kind"] == "news" and first["kind_label"] == "Actualité"
    assert first["topic"] == "Culture et loisirs" and first["sectors"] == ["Centre"]
    assert first["summary"] == "Résumé" and first["url"].startswith("/")
    assert first["level"] is None and first["image"] is None


def test_drafts_scheduled_withdrawn_and_expired_posts_are_never_shown(client, editor, commune):
    now = timezone.now()
    news(editor, commune, "Visible")
    post_create(actor=editor, commune=commune, kind=Post.Kind.NEWS, fields={"title": "Brouillon"})
    scheduled = post_create(actor=editor, commune=commune, kind=Post.Kind.NEWS, fields={"title": "Programmée"})
    post_transition(actor=editor, post=scheduled, action="schedule", publish_at=now + timedelta(days=1))
    withdrawn = news(editor, commune, "Retirée")
    post_transition(actor=editor, post=withdrawn, action="withdraw")
    expired = news(editor, commune, "Expirée")
    post_transition(actor=editor, post=expired, action="expire")
    # Published, but its end passed before the worker came round to expire it.
    overdue = alert(editor, commune, "Alerte passée")
    Post.objects.filter(pk=overdue.pk).update(expires_at=now - timedelta(minutes=1))
    overdue_event = event(editor, commune, "Fête finie", starts_at=now + timedelta(days=1))
    Post.objects.filter(pk=overdue_event.pk).update(expires_at=now - timedelta(minutes=1))

    assert titles(get(client, "/posts")) == ["Visible"]
    assert titles(get(client, "/alerts")) == []
    assert titles(get(client, "/agenda")) == []
    for hidden in Post.objects.exclude(title="Visible"):
        assert_error(get(client, f"/posts/{hidden.pk}"), 404, "Publication introuvable")


def test_filters_by_kind_topic_and_sector(client, editor, commune, topic, sector, other_sector):
    now = timezone.now()
    news(editor, commune, "Culture au centre", topic=topic, sectors=[sector])
    news(editor, commune, "Pour toute la commune")
    news(editor, commune, "À la gare seulement", sectors=[other_sector])
    event(editor, commune, "Concert", starts_at=now + timedelta(days=3), topic=topic)

    assert titles(get(client, "/posts", kind="event")) == ["Concert"]
    assert set(titles(get(client, "/posts", topic="culture"))) == {"Culture au centre", "Concert"}
    # A post about no sector in particular concerns the whole commune.
    assert set(titles(get(client, "/posts", sector="centre"))) == {"Culture au centre", "Pour toute la commune", "Concert"}
    assert set(titles(get(client, "/posts", sector="gare", kind="news"))) == {"À la gare seulement", "Pour toute la commune"}
    assert titles(get(client, "/posts", topic="culture", sector="gare")) == ["Concert"]
    assert get(client, "/posts", sector="centre").json()["count"] == 3


def test_unknown_filters_are_named(client, commune, other_commune):
    Topic.objects.create(organisation=other_commune, name="Sport", slug="sport")
    body = assert_error(get(client, "/posts", topic="sport"), 404, "Thème inconnu", fields=["topic"])
    assert body["errors"][0]["message"] == "Aucun thème ne porte cet identifiant."
    assert_error(get(client, "/agenda", sector="nulle-part"), 404, "Quartier inconnu", fields=["sector"])


def test_pagination_is_bounded(client, editor, commune):
    now = timezone.now()
    for n in range(5):
        publish(editor, commune, Post.Kind.NEWS, title=f"N{n}", now=now - timedelta(hours=n))
    page = get(client, "/posts", limit=2, offset=1).json()
    assert page["count"] == 5
    assert [item["title"] for item in page["items"]] == ["N1", "N2"]
    assert get(client, "/posts", offset=10_000).json() == {"count": 5, "items": []}
    assert len(get(client, "/posts", limit=50).json()["items"]) == 5
    assert_error(get(client, "/posts", limit=51), 400, fields=["limit"])
    assert_error(get(client, "/posts", limit=0), 400, fields=["limit"])
    assert_error(get(client, "/posts", offset=-1), 400, fields=["offset"])
    assert_error(get(client, "/posts", offset=10_001), 400, fields=["offset"])


def test_a_post_in_detail(client, editor, commune):
    post = news(editor, commune, "Le détail", body="**Gras** et texte.")
    data = get(client, f"/posts/{post.pk}").json()
    assert data["id"] == post.pk and data["title"] == "Le détail" and data["body"] == "**Gras** et texte."


@pytest.mark.parametrize(
    ("post_id", "status", "message"),
    [
        ("999999", 404, "Publication introuvable"),
        (str(10**30), 400, "Valeur trop grande"),
        (str(2**63), 400, "Valeur trop grande"),
        ("0", 400, "Valeur trop petite"),
        ("-1", 400, "Valeur trop petite"),
        ("abc", 400, "Nombre entier attendu."),
        ("1.5", 400, "Nombre entier attendu."),
        ("9" * 5000, 400, None),
    ],
)
def test_unknown_or_malformed_post_ids_are_refused(client, commune, post_id, status, message):
    body = assert_error(get(client, f"/posts/{post_id}"), status)
    if message:
        assert message in json.dumps(body, ensure_ascii=False)


def test_alerts_are_the_current_ones_most_severe_first(client, editor, commune):
    alert(editor, commune, "Vigilance", level=Post.Level.WARNING)
    alert(editor, commune, "Danger", level=Post.Level.DANGER)
    alert(editor, commune, "Info", level=Post.Level.INFO)
    news(editor, commune, "Une actualité")
    data = get(client, "/alerts").json()
    assert [a["title"] for a in data] == ["Danger", "Vigilance", "Info"]
    assert data[0]["level"] == "danger" and data[0]["level_label"] == "Danger" and data[0]["expires_at"]


def test_agenda_lists_events_overlapping_the_period(client, editor, commune, topic):
    today = timezone.localdate()
    now = timezone.now()
    event(editor, commune, "Dans deux jours", starts_at=now + timedelta(days=2), topic=topic)
    event(editor, commune, "En cours", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1))
    event(editor, commune, "Terminé", starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=2))
    event(editor, commune, "Dans quarante jours", starts_at=now + timedelta(days=40))
    publish(editor, commune, Post.Kind.WORKS, title="Travaux", starts_at=now + timedelta(days=1))

    assert titles(get(client, "/agenda")) == ["En cours", "Dans deux jours"]
    assert titles(get(client, "/agenda", days=93)) == ["En cours", "Dans deux jours", "Dans quarante jours"]
    later = (today + timedelta(days=35)).isoformat()
    assert titles(get(client, "/agenda", start=later, days=10)) == ["Dans quarante jours"]
    assert titles(get(client, "/agenda", topic="culture")) == ["Dans deux jours"]
    assert titles(get(client, "/agenda", start="2999-12-31")) == []


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"start": "2024-13-01"}, "start", "Date invalide : utilisez la forme AAAA-MM-JJ."),
        ({"start": "31/12/2024"}, "start", "Date invalide : utilisez la forme AAAA-MM-JJ."),
        ({"start": "0"}, "start", "Date invalide : utilisez la forme AAAA-MM-JJ."),
        ({"start": "1700000000"}, "start", "Date invalide : utilisez la forme AAAA-MM-JJ."),
        ({"start": "9999-12-31"}, "start", "Date trop lointaine (au plus tard le 31/12/2999)."),
        ({"start": "0001-01-01"}, "start", "Date trop ancienne (au plus tôt le 01/01/1900)."),
        ({"days": "0"}, "days", "Valeur trop petite (au moins 1)."),
        ({"days": "94"}, "days", "Valeur trop grande (au plus 93)."),
        ({"days": "beaucoup"}, "days", "Nombre entier attendu."),
        ({"topic": "pas un identifiant"}, "topic", "Format non reconnu."),
        ({"sector": "x" * 81}, "sector", "Texte trop long (au plus 80 caractères)."),
    ],
)
def test_agenda_refuses_malformed_periods(client, commune, params, field, message):
    body = assert_error(get(client, "/agenda", **params), 400, "Requête invalide", fields=[field])
    assert body["errors"][0]["message"] == message


def test_topics_and_sectors_of_the_commune(client, commune, other_commune, topic, sector):
    Topic.objects.create(organisation=other_commune, name="Sport", slug="sport")
    assert get(client, "/topics").json() == [{"slug": "culture", "name": "Culture et loisirs"}]
    sectors = get(client, "/sectors").json()
    assert [(s["slug"], s["name"]) for s in sectors] == [("centre", "Centre")]
    assert sectors[0]["area"]["type"] == "Polygon"
    assert get(client, "/topics", host=DOUVRIN).json() == [{"slug": "sport", "name": "Sport"}]
    assert get(client, "/sectors", host=DOUVRIN).json() == []


def test_a_panel_shows_current_alerts_then_its_choice(client, editor, commune, topic):
    now = timezone.now()
    screen = Screen.objects.create(organisation=commune, name="Panneau de la mairie", slug="mairie", kinds=["news"], slide_seconds=8)
    screen.topics.set([topic])
    news(editor, commune, "Culture", topic=topic)
    news(editor, commune, "Hors thème")
    event(editor, commune, "Concert", starts_at=now + timedelta(days=1), topic=topic)
    alert(editor, commune, "Orages")
    data = get(client, "/panels/mairie").json()
    assert data["name"] == "Panneau de la mairie" and data["commune"] == "Haisnes" and data["slide_seconds"] == 8
    assert [a["title"] for a in data["alerts"]] == ["Orages"]
    assert [i["title"] for i in data["items"]] == ["Culture"]
    assert_error(get(client, "/panels/inconnu"), 404, "Panneau d’information introuvable.")
    assert_error(get(client, "/panels/pas%20valide"), 400, fields=["slug"])
    assert_error(get(client, "/panels/" + "a" * 81), 400, fields=["slug"])


# --- One commune, one host ---------------------------------------------------------


def test_each_host_shows_only_its_commune(client, editor, commune, other_commune, douvrin_editor, topic):
    now = timezone.now()
    here = news(editor, commune, "Haisnes : actualité", topic=topic)
    alert(editor, commune, "Haisnes : alerte")
    event(editor, commune, "Haisnes : fête", starts_at=now + timedelta(days=1))
    sport = Topic.objects.create(organisation=other_commune, name="Sport", slug="sport")
    there = news(douvrin_editor, other_commune, "Douvrin : actualité", topic=sport)
    alert(douvrin_editor, other_commune, "Douvrin : alerte")
    event(douvrin_editor, other_commune, "Douvrin : fête", starts_at=now + timedelta(days=1))
    Screen.objects.create(organisation=other_commune, name="Panneau de Douvrin", slug="douvrin", kinds=["news"])

    for host, own, foreign in (("testserver", "Haisnes", "Douvrin"), (DOUVRIN, "Douvrin", "Haisnes")):
        seen = titles(get(client, "/posts", host=host)) + titles(get(client, "/alerts", host=host))
        seen += titles(get(client, "/agenda", host=host))
        assert len(seen) == 5 and all(title.startswith(own) for title in seen), (host, seen)
        assert not any(foreign in title for title in seen)

    assert get(client, f"/posts/{there.pk}", host=DOUVRIN).status_code == 200
    assert_error(get(client, f"/posts/{there.pk}"), 404)
    assert_error(get(client, f"/posts/{here.pk}", host=DOUVRIN), 404)
    # A topic or a panel of the other commune is unknown here.
    assert_error(get(client, "/posts", topic="sport"), 404, fields=["topic"])
    assert_error(get(client, "/posts", topic="culture", host=DOUVRIN), 404, fields=["topic"])
    assert_error(get(client, "/panels/douvrin"), 404)
    assert get(client, "/panels/douvrin", host=DOUVRIN).status_code == 200


def test_an_unknown_host_gets_nothing(client, commune, settings, editor):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "inconnue.testserver"]
    news(editor, commune, "Haisnes")
    response = get(client, "/posts", host="inconnue.testserver")
    assert response.status_code == 404
    assert b"Haisnes" not in response.content


# --- Errors: French, one shape, never a 500 ----------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("limit=abc", "limit", "Nombre entier attendu."),
        ("limit=1e3", "limit", "Nombre entier attendu."),
        ("offset=", "offset", "Nombre entier attendu."),
        ("kind=gazette", "kind", "Valeur non permise ('news', 'event', 'works' ou 'alert')."),
        ("topic=%00", "topic", "Format non reconnu."),
        ("sector=%C3%A9t%C3%A9", "sector", "Format non reconnu."),
    ],
)
def test_malformed_query_parameters(client, commune, query, field, message):
    body = assert_error(client.get(f"/api/v1/posts?{query}"), 400, "Requête invalide : vérifiez les champs indiqués.")
    assert body["errors"] == [{"field": field, "message": message}]


def test_unknown_paths_and_methods_answer_in_the_same_shape(client, commune):
    assert_error(client.get("/api/v1/nulle-part"), 404, "Ressource introuvable.")
    assert_error(client.post("/api/v1/nulle-part", {}), 404)
    assert_error(client.get("/api/v1/"), 404)
    assert_error(client.get("/api/v1/posts/"), 404)
    response = client.put("/api/v1/posts", "{}", content_type="application/json")
    assert_error(response, 405, "Méthode PUT non permise ici (permises : GET, HEAD).")
    assert response["Allow"] == "GET, HEAD"
    response = client.get("/api/v1/push/subscriptions")
    assert_error(response, 405)
    assert response["Allow"] == "DELETE, POST"
    response = client.post("/api/v1/openapi.json")
    assert_error(response, 405)


def test_head_answers_like_get_without_a_body(client, commune):
    get_response = client.get("/api/v1/topics")
    response = client.head("/api/v1/topics")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Type"] == get_response["Content-Type"]
    assert response["Content-Length"] == str(len(get_response.content))


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{", "Corps de requête illisible : un objet JSON est attendu."),
        (b"{'endpoint': 'x'}", "Corps de requête illisible"),
        (b"\xff\xfe\x00", "Corps de requête illisible"),
        (b"[" * 100_000, "Corps de requête illisible"),
        (b"[]", "Requête invalide"),
        (b"null", "Requête invalide"),
        (b'"texte"', "Requête invalide"),
        (b'{"endpoint": 1, "keys": []}', "Requête invalide"),
    ],
)
def test_malformed_bodies_write_nothing(client, commune, body, detail):
    for method in (client.post, client.delete):
        response = method("/api/v1/push/subscriptions", body, content_type="application/json")
        assert_error(response, 400, detail)
    assert nothing_written()


def test_a_body_of_the_wrong_type_or_missing(client, commune):
    response = client.post("/api/v1/push/subscriptions", "endpoint=x", content_type="application/x-www-form-urlencoded")
    assert_error(response, 400, "Corps de requête illisible")
    response = client.post("/api/v1/push/subscriptions", "", content_type="application/json")
    assert_error(response, 400, "Requête invalide")
    assert nothing_written()


def test_a_body_too_large_is_refused(client, commune, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert_error(subscribe(client, subscription(topics=["x" * 80] * 20)), 413, "Corps de requête trop volumineux.")
    assert nothing_written()


# --- Push subscriptions ------------------------------------------------------------


def test_the_server_key_is_a_p256_point(client, commune):
    key = get(client, "/push/key").json()["public_key"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def test_a_subscription_stores_only_what_sending_needs(client, commune, topic, sector):
    data = subscription(alerts=True, topics=["culture"], sectors=["centre"])
    response = subscribe(client, data)
    assert response.status_code == 201, response.content
    assert response.json() == {"status": "created"}

    # Adding a field (an address, a browser, a date) must be a decision: this test breaks.
    concrete = {field.name for field in FeedSubscription._meta.get_fields() if field.concrete}
    assert concrete == {"id", "organisation", "endpoint", "p256dh", "auth", "alerts", "topics", "sectors"}
    through_columns = {
        model: {f.name for f in model._meta.get_fields() if f.concrete}
        for model in (FeedSubscription.topics.through, FeedSubscription.sectors.through)
    }
    assert through_columns == {
        FeedSubscription.topics.through: {"id", "feedsubscription", "topic"},
        FeedSubscription.sectors.through: {"id", "feedsubscription", "sector"},
    }
    stored = FeedSubscription.objects.get()
    assert (stored.endpoint, stored.p256dh, stored.auth, stored.alerts) == (
        data["endpoint"], data["keys"]["p256dh"], data["keys"]["auth"], True,
    )
    assert stored.organisation == commune
    assert list(stored.topics.all()) == [topic] and list(stored.sectors.all()) == [sector]


def _stored_text():
    """Every value of every table, as text."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            # Table names come from the database itself.
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes):
                        value = bytes(value).decode("latin-1")
                    yield table, str(value)


def test_no_address_or_browser_is_kept_anywhere(client, commune, topic, caplog):
    caplog.set_level(logging.DEBUG)
    witnesses = ("203.0.113.77", "198.51.100.9", "UA-TEMOIN-123")
    meta = {"REMOTE_ADDR": witnesses[0], "HTTP_X_FORWARDED_FOR": witnesses[1], "HTTP_USER_AGENT": witnesses[2]}
    data = subscription(topics=["culture"])
    assert subscribe(client, data, **meta).status_code == 201
    assert subscribe(client, data, **meta).status_code == 200
    assert subscribe(client, subscription(topics=["inconnu"]), **meta).status_code == 404
    client.get("/api/v1/posts", **meta)

    tables = set()
    for table, text in _stored_text():
        tables.add(table)
        for witness in witnesses:
            assert witness not in text, f"{witness} stored in {table}"
    assert {"info_feedsubscription", "core_counter"} <= tables  # the abuse counter was read too
    for witness in witnesses:
        assert witness not in caplog.text


def test_the_same_browser_updates_its_choices(client, commune, topic, sector):
    data = subscription(alerts=True, topics=[], sectors=["centre"])
    assert subscribe(client, data).status_code == 201
    data.update(alerts=False, topics=["culture"], sectors=[])
    response = subscribe(client, data)
    assert response.status_code == 200 and response.json() == {"status": "updated"}
    stored = FeedSubscription.objects.get()
    assert stored.alerts is False
    assert list(stored.topics.all()) == [topic] and not stored.sectors.exists()


def test_other_keys_for_a_known_endpoint_are_a_conflict(client, commune, topic):
    data = subscription(topics=["culture"])
    assert subscribe(client, data).status_code == 201
    intruder = dict(data, keys=browser_keys(), topics=[], alerts=True)
    assert_error(subscribe(client, intruder), 409, "Cet abonnement existe déjà avec d’autres clés.")
    stored = FeedSubscription.objects.get()
    assert stored.auth == data["keys"]["auth"] and stored.p256dh == data["keys"]["p256dh"]
    assert list(stored.topics.values_list("slug", flat=True)) == ["culture"]


def test_two_simultaneous_subscriptions_of_one_browser_end_as_one(client, commune, monkeypatch):
    """The second request looks before the first one's row exists, inserts after."""
    data = subscription()
    FeedSubscription.objects.create(
        organisation=commune, endpoint=data["endpoint"], p256dh=data["keys"]["p256dh"], auth=data["keys"]["auth"]
    )
    lookup = FeedSubscription.objects.select_for_update
    calls = []

    def blind_first_lookup(*args, **kwargs):
        calls.append(1)
        found = lookup(*args, **kwargs)
        return found.none() if len(calls) == 1 else found

    monkeypatch.setattr(FeedSubscription.objects, "select_for_update", blind_first_lookup)
    response = subscribe(client, data)
    assert response.status_code == 200, response.content
    assert len(calls) == 2
    assert FeedSubscription.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"topics": ["inconnu", "culture"]}, "Thème inconnu(s) : inconnu."),
        ({"topics": ["sport"]}, "Thème inconnu(s) : sport."),
        ({"sectors": ["nulle-part"]}, "Quartier inconnu(s) : nulle-part."),
    ],
)
def test_a_topic_or_sector_the_commune_does_not_have_is_not_found(client, commune, other_commune, topic, change, detail):
    """The document cannot list each commune's topics: an unknown one is a 404, as an unknown page."""
    Topic.objects.create(organisation=other_commune, name="Sport", slug="sport")
    assert_error(subscribe(client, subscription(**change)), 404, detail)
    assert nothing_written()


def test_the_document_states_which_push_services_are_accepted(client, commune, settings):
    import re

    pattern = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["SubscriptionIn"]["properties"][
        "endpoint"]["pattern"]
    for endpoint in ("https://fcm.googleapis.com/fcm/send/abc", "https://db5p.notify.windows.com/w/?token=x"):
        assert re.fullmatch(pattern, endpoint)
        assert subscribe(client, subscription(endpoint=endpoint)).status_code == 201
    for endpoint in ("https://push.example.org/x", "https://fcm.googleapis.com.example.org/x",
                     "https://example.org@fcm.googleapis.com/x", "http://fcm.googleapis.com/x"):
        assert not re.fullmatch(pattern, endpoint)
        assert subscribe(client, subscription(endpoint=endpoint)).status_code == 400


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"endpoint": "http://fcm.googleapis.com/fcm/send/abc"}, "L’adresse d’abonnement doit être en https."),
        ({"endpoint": "https://push.example.org/abcdef"}, "Ce service de notification n’est pas reconnu."),
        ({"endpoint": "https://fcm.googleapis.com.example.org/x"}, "Ce service de notification n’est pas reconnu."),
        ({"endpoint": "https://example.org@fcm.googleapis.com/x"}, "Adresse d’abonnement invalide."),
        ({"endpoint": "https://fcm.googleapis.com\\@example.org/x"}, "Adresse d’abonnement invalide"),
        ({"endpoint": "https://[fcm.googleapis.com/x"}, "Adresse d’abonnement invalide."),
        ({"endpoint": "https://fcm.googleapis.com:port/x"}, "Adresse d’abonnement invalide."),
        ({"endpoint": "https://fcm.googleapis.com/a\x00b"}, "Requête invalide"),
        ({"endpoint": "https://fcm.googleapis.com/a b"}, "Requête invalide"),
        ({"endpoint": "https://fcm.googleapis.com/é"}, "Requête invalide"),
        ({"endpoint": "https://fcm.googleapis.com/" + "a" * 1000}, "Requête invalide"),
        ({"endpoint": "ftp://fcm.googleapis.com/x"}, "Requête invalide"),
        ({"keys": {"p256dh": b64url(b"\x04" * 60), "auth": b64url(b"0" * 16)}}, "Requête invalide"),
        ({"keys": {"p256dh": "!" * 87, "auth": b64url(b"0" * 16)}}, "Requête invalide"),
        ({"keys": {"p256dh": "B" + "A" * 86, "auth": b64url(b"0" * 8)}}, "Requête invalide"),
        ({"keys": {"p256dh": "A" * 87, "auth": b64url(b"0" * 16)}}, "Requête invalide"),
        ({"keys": {"p256dh": b64url(b"\x02" + b"\x01" * 64), "auth": b64url(b"0" * 16)}}, "Requête invalide"),
        ({"keys": {"p256dh": "B" + "A" * 86}}, "Requête invalide"),
        ({"keys": "abc"}, "Requête invalide"),
        ({"topics": ["pas valide"]}, "Requête invalide"),
        ({"topics": ["a\x00"]}, "Requête invalide"),
        ({"topics": "culture"}, "Requête invalide"),
        ({"topics": ["culture"] * 51}, "Requête invalide"),
        ({"alerts": False, "topics": []}, "Choisissez au moins les alertes ou un thème."),
        ({"alerts": "oui"}, "Requête invalide"),
        ({"alerts": 1}, "Requête invalide"),
    ],
)
def test_invalid_subscriptions_are_refused_and_write_nothing(client, commune, other_commune, topic, change, detail):
    Topic.objects.create(organisation=other_commune, name="Sport", slug="sport")
    assert_error(subscribe(client, subscription(**change)), 400, detail)
    assert nothing_written()


def test_real_keys_with_a_wrong_auth_size_are_refused(client, commune):
    keys = dict(browser_keys(), auth=b64url(secrets.token_bytes(20)))
    assert_error(subscribe(client, subscription(keys=keys)), 400, fields=["keys.auth"])
    assert nothing_written()


def test_only_the_configured_push_services_are_accepted(client, commune, settings):
    settings.PUSH_ALLOWED_HOSTS = ["push.example.test", ".wns.example.test"]
    assert subscribe(client, subscription(endpoint="https://push.example.test/abc")).status_code == 201
    assert subscribe(client, subscription(endpoint="https://eu.wns.example.test/abc")).status_code == 201
    assert_error(subscribe(client, subscription()), 400, "Ce service de notification n’est pas reconnu.")
    assert_error(subscribe(client, subscription(endpoint="https://wns.example.test.evil.example/x")), 400)
    assert FeedSubscription.objects.count() == 2


def test_a_local_push_service_may_be_allowed_for_tests_and_benchmarks(client, commune, settings):
    settings.PUSH_ALLOWED_HOSTS = ["127.0.0.1"]
    assert subscribe(client, subscription(endpoint="http://127.0.0.1:8765/push/abc")).status_code == 201
    # Plain http only for a local service.
    settings.PUSH_ALLOWED_HOSTS = ["push.example.test"]
    assert_error(subscribe(client, subscription(endpoint="http://push.example.test/abc")), 400, "doit être en https")


def test_browsers_need_no_csrf_token(commune):
    # push.js sends JSON without cookies or token: the API has no session to protect.
    strict = Client(enforce_csrf_checks=True)
    data = subscription()
    assert subscribe(strict, data).status_code == 201
    assert unsubscribe(strict, data["endpoint"], data["keys"]["auth"]).status_code == 204


def test_unsubscribing_deletes_the_subscription(client, commune, topic, sector):
    data = subscription(topics=["culture"], sectors=["centre"])
    assert subscribe(client, data).status_code == 201
    response = unsubscribe(client, data["endpoint"], data["keys"]["auth"])
    assert response.status_code == 204 and response.content == b""
    assert nothing_written()
    assert_error(unsubscribe(client, data["endpoint"], data["keys"]["auth"]), 404, "Aucun abonnement ne correspond.")


def test_unsubscribing_needs_the_browser_secret_and_the_same_commune(client, commune, other_commune):
    data = subscription()
    assert subscribe(client, data).status_code == 201
    assert_error(unsubscribe(client, data["endpoint"], b64url(secrets.token_bytes(16))), 404)
    assert_error(unsubscribe(client, data["endpoint"], data["keys"]["auth"], host=DOUVRIN), 404)
    assert_error(unsubscribe(client, FCM + "inconnu", data["keys"]["auth"]), 404)
    assert_error(unsubscribe(client, data["endpoint"] + "\x00", data["keys"]["auth"]), 400)
    assert_error(unsubscribe(client, data["endpoint"], "é" * 22), 400, fields=["auth"])
    assert FeedSubscription.objects.count() == 1


def test_subscribing_is_rate_limited_per_address(client, commune):
    for _ in range(30):
        assert subscribe(client, subscription(), REMOTE_ADDR="192.0.2.1").status_code == 201
    response = subscribe(client, subscription(), REMOTE_ADDR="192.0.2.1")
    assert_error(response, 429, "Trop de demandes : réessayez dans une heure.")
    assert FeedSubscription.objects.count() == 30
    # Another address is not held back by the first one.
    assert subscribe(client, subscription(), REMOTE_ADDR="192.0.2.2").status_code == 201
