"""Server-Sent Events through the real server: live delivery, replay, restarts."""

import asyncio
import json

import aiohttp
from django.db import transaction

from beffroi.realtime import channels
from beffroi.realtime.models import Event
from beffroi.realtime.publish import publish


async def _read_events(url, *, count, headers=None, timeout=10.0):
    """Open a stream, return (events, raw) after ``count`` events arrived."""
    events = []
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers or {}, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/event-stream")
            assert "no-cache" in response.headers["Cache-Control"]
            current = {}
            async for raw_line in response.content:
                line = raw_line.decode().rstrip("\n")
                if not line:
                    if "data" in current:
                        events.append(current)
                        if len(events) >= count:
                            return events
                    current = {}
                    continue
                if line.startswith(":"):
                    continue
                field, _, value = line.partition(": ")
                current[field] = value
    return events


def _publish(commune, n, start=0):
    ids = []
    for i in range(start, start + n):
        with transaction.atomic():
            ids.append(publish(channel=channels.public(commune.pk), type="test", data={"n": i}).id)
    return ids


def test_replay_after_last_event_id_loses_nothing_and_repeats_nothing(live_server_asgi, commune):
    ids = _publish(commune, 6)
    url = f"{live_server_asgi.url}/flux/public"
    events = asyncio.run(_read_events(url, count=3, headers={"Last-Event-ID": str(ids[2])}))
    assert [int(e["id"]) for e in events] == ids[3:]
    assert [json.loads(e["data"])["n"] for e in events] == [3, 4, 5]


def test_live_events_reach_an_open_stream_once(live_server_asgi, commune):
    url = f"{live_server_asgi.url}/flux/public"

    async def scenario():
        reader = asyncio.create_task(_read_events(url, count=3))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(_publish, commune, 3)
        return await reader

    events = asyncio.run(scenario())
    assert [json.loads(e["data"])["n"] for e in events] == [0, 1, 2]
    assert len({e["id"] for e in events}) == 3


def test_a_rolled_back_change_announces_nothing(live_server_asgi, commune):
    try:
        with transaction.atomic():
            publish(channel=channels.public(commune.pk), type="test", data={"n": "rolled back"})
            raise RuntimeError
    except RuntimeError:
        pass
    assert not Event.objects.exists()
    kept = _publish(commune, 1, start=1)
    events = asyncio.run(_read_events(f"{live_server_asgi.url}/flux/public?since=0", count=1))
    assert [int(e["id"]) for e in events] == kept


def test_a_server_restart_loses_no_event(live_server_asgi, commune):
    first = _publish(commune, 2)
    url = f"{live_server_asgi.url}/flux/public"
    events = asyncio.run(_read_events(url + "?since=0", count=2))
    last_seen = events[-1]["id"]
    live_server_asgi.stop()
    missed = _publish(commune, 2, start=2)  # while the server is down
    live_server_asgi.start()
    replayed = asyncio.run(_read_events(url, count=2, headers={"Last-Event-ID": last_seen}))
    assert [int(e["id"]) for e in events] == first
    assert [int(e["id"]) for e in replayed] == missed


def test_streams_only_carry_their_commune(live_server_asgi, commune, other_commune):
    _publish(other_commune, 2)
    mine = _publish(commune, 1, start=10)
    events = asyncio.run(_read_events(f"{live_server_asgi.url}/flux/public?since=0", count=1))
    assert [int(e["id"]) for e in events] == mine


def test_unknown_stream_and_host_are_refused(live_server_asgi):
    async def get(path, host=None):
        async with aiohttp.ClientSession() as session:
            headers = {"Host": host} if host else {}
            async with session.get(live_server_asgi.url + path, headers=headers) as response:
                return response.status, await response.text()

    assert asyncio.run(get("/flux/inconnu"))[0] == 404
    status, text = asyncio.run(get("/flux/public", host="ailleurs.example"))
    assert status == 404
    assert "Aucune commune" in text
