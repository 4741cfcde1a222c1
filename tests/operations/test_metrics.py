"""After a small flow, each service's /metrics shows the numbers an operator watches."""

import asyncio
import random
import uuid

from services.notify.metrics import parse_kannel_status
from shared import metrics
from shared.contracts.topics import RETURNEE, dlq
from shared.messaging.outbox import enqueue
from shared.web.service import make_producer
from tests import factories
from tests.conftest import bearer, read_topic
from tests.notify.conftest import ADMIN_PORT
from tests.operations.metrics_helpers import samples, scrape, value
from tests.quarantine.helpers import add_facility, registered
from tests.waiting import wait_until
from tests.web import port_answers

POIPET = "KH-TH-01"  # Banteay Meanchey (01)
OFFICER = bearer(("checkpoint_officer", POIPET))
REGISTERED = "kh.gov.border.returnee.registered.v1"


def registration(now) -> dict:
    return factories.registration(now=now, phone="012 " + "".join(random.choices("0123456789", k=6)))


async def test_metrics_after_three_registrations(stack):
    intake = await stack.start("intake")
    quarantine = await stack.start("quarantine", scheduler_seconds=0.2)
    notify = await stack.start("notify")
    facility = f"ops-{uuid.uuid4().hex[:6]}"
    await add_facility(quarantine, facility, capacity=4)
    before = value(await scrape(intake), "border_registrations_total", checkpoint=POIPET, policy="border")

    bodies = [registration(intake.runtime.clock.now()) for _ in range(3)]
    for body in bodies:
        r = await intake.client.post("/returnees", json=body, headers=OFFICER)
        assert r.status_code == 201, r.text

    # intake: three more registrations at Poipet, all relayed to the topic, nothing left in the outbox.
    text = await scrape(intake)
    assert value(text, "border_registrations_total", checkpoint=POIPET, policy="border") == (before or 0) + 3
    topic = stack.topic(RETURNEE)

    async def relayed():
        text = await scrape(intake)
        published = value(text, "border_events_published_total", topic=topic)
        return published == 3 and value(text, "border_outbox_backlog", service="intake") == 0 and text

    text = await wait_until(relayed, what="intake's outbox relayed")
    assert value(text, "border_outbox_oldest_age_seconds", service="intake") == 0

    # quarantine: handled all three, caught up on every partition, three of four beds taken.
    group = stack.prefix + "quarantine"

    async def placed():
        text = await scrape(quarantine)
        return value(text, "border_facility_occupancy_ratio", facility=facility) == 0.75 and text

    text = await wait_until(placed, what="three returnees placed")
    assert value(text, "border_facility_capacity", province="01", facility=facility) == 4
    handled = value(text, "border_events_consumed_total", consumer=group, type=REGISTERED, outcome="handled")
    assert handled == 3
    assert samples(text, "border_handler_seconds_count", consumer=group)[0].value >= 3

    async def caught_up():
        text = await scrape(quarantine)
        lag = samples(text, "border_consumer_lag", consumer=group, topic=topic)
        return len(lag) == 6 and all(s.value == 0 for s in lag)

    await wait_until(caught_up, what="a zero lag gauge for each of the six partitions")
    assert value(text, "border_events_dead_lettered_total", topic=topic) is None

    # notify: delivery gauges exist for every state, even with none stored.
    text = await scrape(notify)
    assert value(text, "border_notify_deliveries", channel="sms", state="failed") == 0
    assert value(text, "border_notify_deliveries", channel="webhook", state="queued") == 0
    assert value(text, "border_kannel_up", gateway="kannel") == (1 if port_answers(ADMIN_PORT) else 0)

    # No personal data in any label, whichever service's scrape it is.
    for service in (intake, quarantine, notify):
        text = await scrape(service)
        for body in bodies:
            assert body["id"] not in text and body["phone"][4:] not in text
            assert body["id_doc_number"] not in text


async def test_dead_letters_are_counted_by_topic(stack):
    quarantine = await stack.start("quarantine")
    topic = stack.topic(RETURNEE)
    producer = make_producer(stack.infra.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=b"k", value=b"not a cloudevent", headers=[])
    finally:
        await producer.stop()
    [parked] = await read_topic(stack.infra.kafka, dlq(topic), expect=1)
    assert dict(parked.headers)["dlq_reason"] == b"undecodable"

    async def counted():
        text = await scrape(quarantine)
        return value(text, "border_events_dead_lettered_total", topic=topic) == 1

    await wait_until(counted, what="the dead letter counted")


def test_kannel_status_page_is_read_into_queue_lengths():
    text = """Status: running, uptime 0d 0h 18m 53s

SMS: received 9 (2 queued), sent 1342 (7 queued), store size 4
SMS: inbound (0.04,0.01,0.01) msg/sec, outbound (0.48,0.61,1.18) msg/sec

DLR: received 540, sent 0
DLR: 3 queued, using internal storage
"""
    assert parse_kannel_status(text) == {"inbound": 2, "outbound": 7, "store": 4, "dlr": 3}
    assert parse_kannel_status("Denied") == {}


async def test_outbox_gauges_show_a_stalled_relay(stack):
    # No consumer: quarantine would read the registrations it relays and enqueue placements of its own.
    quarantine = await stack.start("quarantine", consumer_enabled=False)
    rt = quarantine.runtime
    relay = rt.loops[0].task  # start_runtime starts the relay first
    relay.cancel()
    await asyncio.gather(relay, return_exceptions=True)
    async with rt.sessions.begin() as session:
        for event in (registered(), registered()):
            await enqueue(session, event, source="/test")

    async def aged():
        text = await scrape(quarantine)
        return value(text, "border_outbox_oldest_age_seconds", service="quarantine") > 0 and text

    text = await wait_until(aged, what="the unpublished rows to age")
    assert value(text, "border_outbox_backlog", service="quarantine") == 2

    # A topic made moments ago may refuse the first send until its leader is known: that row stays for the
    # next round, as with the relay running.
    async def drained():
        await rt.relay.publish_batch()
        return value(await scrape(quarantine), "border_outbox_backlog", service="quarantine") == 0

    await wait_until(drained, timeout=10, what="the backlog published and the gauge at 0")
    text = await scrape(quarantine)
    assert value(text, "border_outbox_oldest_age_seconds", service="quarantine") == 0


async def test_a_failing_or_hanging_refresher_does_not_stop_the_scrape(monkeypatch):
    monkeypatch.setattr(metrics, "REFRESH_TIMEOUT", 0.2)
    done = []

    async def fails():
        raise ConnectionError

    async def hangs():
        await asyncio.Event().wait()

    async def works():
        done.append(True)

    async with asyncio.timeout(2):
        await metrics.refresh([fails, hangs, works])
    assert done == [True]
