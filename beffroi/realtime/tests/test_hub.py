"""The hub and the streams, without a network: ordering, duplicates, buffering."""

import asyncio

from beffroi.realtime.hub import Hub
from beffroi.realtime.sse import Stream
from beffroi.realtime.store import Record


class FakeStore:
    def __init__(self, records=()):
        self.records = list(records)

    async def run(self, function, *args):
        return function(*args)

    def after(self, last_id, limit):
        return [r for r in self.records if r.id > last_id][:limit]

    def heads(self):
        return 0, {}

    def shutdown(self):
        pass


class Collector:
    """Stands for the server's send(): records what a client would read."""

    def __init__(self):
        self.frames = []

    async def __call__(self, message):
        self.frames.append(message["body"])


def _record(i, channel="public:1"):
    return Record(id=i, channel=channel, type="t", data=f'{{"n":{i}}}')


def test_the_hub_reads_after_its_last_id_and_fans_out_by_channel():
    async def scenario():
        store = FakeStore([_record(1), _record(2, "public:2"), _record(3)])
        hub = Hub(store=store, poll_seconds=60, keepalive_seconds=60, backend="inprocess")
        await hub.start()
        send = Collector()
        stream = Stream(send)
        stream.buffer = None  # live
        hub.subscribe(("public:1",), stream)
        hub.poke()
        hub.poke()  # a doubled wake-up reads nothing twice
        await asyncio.sleep(0.05)
        store.records.append(_record(4))
        hub.poke()
        await asyncio.sleep(0.05)
        await hub.stop()
        return send.frames, hub

    frames, hub = asyncio.run(scenario())
    assert [f.split(b"\n")[0] for f in frames] == [b"id: 1", b"id: 3", b"id: 4"]
    assert hub.last_id == 4 and hub.channel_heads == {"public:1": 4, "public:2": 2}


def test_a_stream_drops_ids_it_already_sent_and_keeps_order_while_replaying():
    async def scenario():
        send = Collector()
        stream = Stream(send)  # starts buffered, as during replay
        stream.deliver(5, b"five")
        stream.deliver(6, b"six")
        # Replay sent up to 5 meanwhile.
        stream.last_id = 5
        await stream.flush()
        stream.deliver(6, b"six again")
        stream.deliver(7, b"seven")
        stream.ping()
        return send.frames

    assert asyncio.run(scenario()) == [b"six", b"seven", b": ping\n\n"]
