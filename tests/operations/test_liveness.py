"""A background loop that has work waiting and makes no progress is named in /readyz, counted in a metric,
and replaced by its supervisor; a loop with nothing to do is only idle."""

import asyncio

from shared.contracts.intake import ReturneeRegistered
from shared.liveness import Loop, Watchdog
from shared.web.service import make_producer
from tests.conftest import bearer
from tests.operations.metrics_helpers import scrape, value
from tests.quarantine.helpers import add_facility, registered
from tests.waiting import wait_until

NATIONAL = bearer(("national_admin", "KH"))
STALL = 1.5  # seconds without progress, with work waiting, before a loop counts as stalled


async def test_a_consumer_stuck_with_lag_is_reported_and_replaced(stack):
    quarantine = await stack.start("quarantine", loop_stall_seconds=STALL, scheduler_seconds=0.2)
    rt = quarantine.runtime
    (consumer,) = rt.consumers
    loop = next(loop for loop in rt.loops if loop.name == consumer.subscription.group)
    await add_facility(quarantine, "poipet-1", capacity=10)

    # The stall on purpose: the handler waits on something nobody answers, as a lost lock or a dead
    # connection would make it, until the test lets it go.
    real = consumer.subscription.handlers[ReturneeRegistered]
    release = asyncio.Event()

    async def stuck(session, event, envelope):
        await release.wait()
        await real(session, event, envelope)

    consumer.subscription.handlers[ReturneeRegistered] = stuck
    producer = make_producer(stack.infra.kafka)
    await producer.start()
    try:
        event = registered()
        await stack.publish(producer, event)
        await wait_until(lambda: loop.replaced >= 1, timeout=30, what="the watchdog to replace the loop")

        ready = await quarantine.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"][f"loop:{loop.name}"] == "stalled"
        text = await scrape(quarantine)
        assert value(text, "border_loop_stalled", service="quarantine", loop=loop.name) == 1
        assert value(text, "border_loop_replaced_total", service="quarantine", loop=loop.name) >= 1
        # Only the stuck loop is named: the relay and the scheduler are fine.
        assert [k for k in ready.json()["checks"] if k.startswith("loop:")] == [f"loop:{loop.name}"]

        release.set()  # the replacement reads the uncommitted record again and gets through

        async def recovered():
            r = await quarantine.client.get("/readyz")
            return r.status_code == 200 and r

        ready = await wait_until(recovered, timeout=30, what="readiness after the replacement moved")
        assert ready.json()["checks"] == {"database": "ok", "kafka": "ok"}
        text = await scrape(quarantine)
        assert value(text, "border_loop_stalled", service="quarantine", loop=loop.name) == 0
        episodes = await quarantine.client.get("/episodes", headers=NATIONAL)
        assert str(event.returnee_id) in episodes.text
    finally:
        release.set()
        await producer.stop()


async def test_an_idle_consumer_is_not_stalled(stack):
    # The scheduler is a timer loop: its rounds must come more often than the stall time.
    quarantine = await stack.start("quarantine", loop_stall_seconds=0.5, scheduler_seconds=0.1)
    rt = quarantine.runtime
    await asyncio.sleep(2.5)  # several watchdog rounds with nothing on the topics
    assert all(not loop.stalled and loop.replaced == 0 for loop in rt.loops)
    assert (await quarantine.client.get("/readyz")).status_code == 200


async def test_the_watchdog_judges_only_loops_with_work_waiting():
    waits = {"busy": 3, "idle": 0, "unknown": RuntimeError("the database is away")}
    hold = asyncio.Event()

    async def forever():
        await hold.wait()

    def probe(name):
        async def waiting():
            if isinstance(waits[name], Exception):
                raise waits[name]
            return waits[name]

        return waiting

    loops = {name: Loop(name, forever, probe(name), service="test") for name in waits}
    loops["timer"] = Loop("timer", forever, None, service="test")  # no probe: a round is always due
    for loop in loops.values():
        loop.start()
        loop.last_progress -= 10  # quiet for 10 s
    first = {name: loop.task for name, loop in loops.items()}
    try:
        watchdog = Watchdog(lambda: list(loops.values()), stall_seconds=5)
        for loop in loops.values():
            await watchdog.check(loop)
        assert {n for n, loop in loops.items() if loop.stalled} == {"busy", "timer"}
        assert {n: loop.replaced for n, loop in loops.items()} == {
            "busy": 1,
            "idle": 0,
            "unknown": 0,
            "timer": 1,
        }
        assert first["busy"].cancelled() and not loops["busy"].task.done(), "a fresh run replaced it"
        assert not first["idle"].done()
        loops["busy"].progressed()
        assert not loops["busy"].stalled
    finally:
        for loop in loops.values():
            await loop.stop()


async def test_an_outage_does_not_count_as_a_stall():
    """While the database or broker is away no loop can move; its quiet time starts when they answer."""
    hold = asyncio.Event()
    up = False

    async def forever():
        await hold.wait()

    async def waiting():
        return 5  # a backlog grew during the outage

    async def healthy():
        return up

    loop = Loop("consumer", forever, waiting, service="test")
    loop.start()
    watchdog = asyncio.create_task(Watchdog(lambda: [loop], stall_seconds=0.4, healthy=healthy).run())
    try:
        await asyncio.sleep(1.2)  # three stall times of outage
        assert not loop.stalled and loop.replaced == 0
        up = True
        await asyncio.sleep(0.2)  # back, but not yet a stall time quiet since
        assert not loop.stalled
        await wait_until(lambda: loop.replaced >= 1, timeout=3)  # still quiet with work waiting: stalled
        assert loop.stalled
    finally:
        watchdog.cancel()
        await loop.stop()
