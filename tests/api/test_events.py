"""The in-process event bus: publish from any thread, fan-out per channel, a reader that falls behind is dropped."""

from __future__ import annotations

import asyncio
import threading

from api import events
from api.events import InProcessBus


def test_fan_out_by_channel_from_another_thread():
    async def main():
        bus = InProcessBus()
        a = bus.subscribe(["conversation:1"])
        b = bus.subscribe(["conversation:1", events.MEDIATORS])
        c = bus.subscribe(["conversation:2"])
        t = threading.Thread(
            target=lambda: (bus.publish("conversation:1", {"n": 1}), bus.publish(events.MEDIATORS, {"n": 2}))
        )
        t.start()
        t.join()
        assert await asyncio.wait_for(a.get(), 1) == {"n": 1}
        assert [await asyncio.wait_for(b.get(), 1) for _ in range(2)] == [{"n": 1}, {"n": 2}]
        assert c._queue.empty()
        assert bus.subscriber_count("conversation:1") == 2 and bus.subscriber_count() == 3
        b.discard("conversation:1")
        a.close()
        assert bus.subscriber_count("conversation:1") == 0
        c.add("conversation:1")
        bus.publish("conversation:1", {"n": 3})
        assert await asyncio.wait_for(c.get(), 1) == {"n": 3}
        c.end()
        assert await asyncio.wait_for(c.get(), 1) is None

    asyncio.run(main())


def test_a_reader_that_falls_behind_is_dropped(monkeypatch):
    monkeypatch.setattr(events, "QUEUE_LIMIT", 5)

    async def main():
        bus = InProcessBus()
        slow = bus.subscribe(["x"])
        for i in range(10):
            bus.publish("x", {"n": i})
        await asyncio.sleep(0.05)
        got = []
        while (event := await asyncio.wait_for(slow.get(), 1)) is not None:
            got.append(event["n"])
        assert got == [
            0,
            1,
            2,
            3,
            4,
        ]  # then None: the socket closes and the client catches up from the database

    asyncio.run(main())
