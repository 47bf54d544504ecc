"""Events written by another process reach the open streams of the server."""

import asyncio
import json
import os
import subprocess
import sys

from django.conf import settings
from django.db import connection

from beffroi.realtime.tests.test_streams import _read_events
from conftest import LiveServer, subprocess_database_url

PUBLISH = (
    "from django.db import transaction\n"
    "from beffroi.realtime.publish import publish\n"
    "with transaction.atomic():\n"
    "    publish(channel='public:{commune}', type='test', data={{'from': 'worker'}})\n"
)


def _publish_from_another_process(commune_id: int) -> None:
    env = {**os.environ, "DATABASE_URL": subprocess_database_url(), "BEFFROI_VAR_DIR": str(settings.VAR_DIR)}
    code = PUBLISH.format(commune=commune_id)
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=settings.BASE_DIR, env=env, check=True)


def _listening_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN beffroi_events%%'")
        return cursor.fetchone()[0]


def test_an_event_from_another_process_reaches_every_open_stream(live_server_asgi, commune):
    url = f"{live_server_asgi.url}/flux/public"

    async def scenario():
        readers = [asyncio.create_task(_read_events(url, count=1)) for _ in range(5)]
        await asyncio.sleep(0.5)
        if connection.vendor == "postgresql":
            # One LISTEN connection for the process, however many streams.
            assert await asyncio.to_thread(_listening_connections) == 1
        await asyncio.to_thread(_publish_from_another_process, commune.pk)
        return await asyncio.gather(*readers)

    results = asyncio.run(scenario())
    assert [json.loads(events[0]["data"]) for events in results] == [{"from": "worker"}] * 5


def test_streams_stay_open_with_keepalives(transactional_db, commune, settings):
    settings.SSE_KEEPALIVE_SECONDS = 1
    server = LiveServer().start()
    try:

        async def read_raw():
            import aiohttp

            async with aiohttp.ClientSession() as session:
                async with session.get(f"{server.url}/flux/public") as response:
                    received = b""
                    while received.count(b": ping") < 2:
                        received += await asyncio.wait_for(response.content.readany(), timeout=5)
                    return received

        assert asyncio.run(read_raw()).count(b": ping\n\n") >= 2
    finally:
        server.stop()
