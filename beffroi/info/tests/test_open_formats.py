"""RSS, Atom and iCalendar, parsed by real parsers."""

import feedparser
from icalendar import Calendar

from beffroi.info.models import Post
from beffroi.info.services import post_create
from beffroi.info.tests.helpers import published


def test_rss_and_atom_list_visible_posts(client, commune, editor, topic):
    published(commune, editor, title="Marché de Noël", kind=Post.Kind.EVENT, topic=topic)
    published(commune, editor, title="Vent violent", kind=Post.Kind.ALERT)
    draft_title = "Brouillon secret"
    post_create(actor=editor, commune=commune, kind=Post.Kind.NEWS, fields={"title": draft_title})

    for path, version in (("/rss.xml", "rss20"), ("/atom.xml", "atom10")):
        response = client.get(path)
        assert response.status_code == 200
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.bozo_exception
        assert feed.version == version
        titles = [entry.title for entry in feed.entries]
        assert "Manifestation : Marché de Noël" in titles
        assert "Alerte : Vent violent" in titles
        assert not any(draft_title in title for title in titles)
        assert feed.feed.title.startswith("Haisnes")
        event = next(e for e in feed.entries if "Marché" in e.title)
        assert {t.term for t in event.tags} >= {"Manifestation", "Culture et loisirs"}


def test_every_page_announces_its_feeds(client, commune):
    html = client.get("/").content.decode()
    for href, kind in (
        ("/rss.xml", "application/rss+xml"),
        ("/atom.xml", "application/atom+xml"),
        ("/agenda.ics", "text/calendar"),
        ("/travaux.ics", "text/calendar"),
    ):
        assert f'type="{kind}"' in html and f'href="{href}"' in html


def test_icalendar_exports_events_and_works(client, commune, editor):
    event = published(commune, editor, kind=Post.Kind.EVENT, title="Concert", place="Église")
    works = published(commune, editor, kind=Post.Kind.WORKS, title="Réfection de chaussée", traffic=Post.Traffic.CLOSED)

    agenda = Calendar.from_ical(client.get("/agenda.ics").content)
    vevents = agenda.walk("VEVENT")
    assert [str(v["summary"]) for v in vevents] == ["Concert"]
    vevent = vevents[0]
    assert str(vevent["uid"]) == f"post-{event.pk}@testserver"
    assert vevent.decoded("dtstart") == event.starts_at.replace(microsecond=0)
    assert vevent.decoded("dtend") == event.ends_at.replace(microsecond=0)
    assert str(vevent["location"]) == "Église"
    assert str(vevent["url"]).endswith(event.get_absolute_url())
    assert agenda.walk("VTIMEZONE"), "local times must come with their time zone"

    roadworks = Calendar.from_ical(client.get("/travaux.ics").content).walk("VEVENT")
    assert [str(v["summary"]) for v in roadworks] == ["Travaux : Réfection de chaussée"]
    assert "Route barrée" in str(roadworks[0]["description"])

    single = client.get(f"/agenda/{works.pk}-{works.slug}.ics")
    assert single["Content-Type"].startswith("text/calendar")
    assert len(Calendar.from_ical(single.content).walk("VEVENT")) == 1
