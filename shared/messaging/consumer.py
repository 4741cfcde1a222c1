"""Kafka in, handler out: decode, dedupe through the inbox, retry, dead-letter, then commit the offset.

The offset of a message is committed only after the transaction holding its side effects (and its inbox
row) commits, or after it went to the dead-letter topic. A redelivery after a crash is skipped by the inbox.

The records of one partition from one poll are handled in one transaction (one commit instead of one per
event, which is most of a consumer's cost); if any of them fails, that transaction is rolled back and the
records are handled one at a time, each with its own retries and dead-lettering.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import IllegalStateError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import AsyncRetrying, stop_after_attempt, wait_exponential

from shared import metrics
from shared.contracts import Event
from shared.contracts.topics import dlq
from shared.liveness import progressed
from shared.logging import correlation_id_var, event_id_var
from shared.messaging.codec import Envelope, PoisonMessage, decode
from shared.messaging.inbox import claim, claim_many

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Event, Envelope], Awaitable[None]]
Work = tuple[ConsumerRecord, Envelope, Event, Handler]


@dataclass
class Subscription:
    """A consumer group and the handlers it runs, by event class; other types on its topics are skipped."""

    group: str
    handlers: dict[type[Event], Handler]
    topics: list[str] = field(default_factory=list)

    def __post_init__(self):
        if not self.topics:
            self.topics = sorted({cls.topic for cls in self.handlers})


class _CommitOnRevoke(ConsumerRebalanceListener):
    def __init__(self, consumer: "EventConsumer"):
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked):
        # Rebalances run in the background: finish the batch in hand and commit it before letting go.
        async with self._consumer.lock:
            await self._consumer.commit()
        self._consumer.forget_lag(revoked)

    async def on_partitions_assigned(self, assigned):
        pass


class EventConsumer:
    """Runs one `Subscription` against the broker until cancelled."""

    def __init__(
        self,
        subscription: Subscription,
        *,
        bootstrap: str,
        sessions: async_sessionmaker[AsyncSession],
        producer: AIOKafkaProducer,
        max_attempts: int = 3,
        max_batch: int = 500,
        retry_wait: float = 0.2,
        session_timeout_ms: int = 10000,
        heartbeat_interval_ms: int = 3000,
    ):
        self.subscription = subscription
        self.lock = asyncio.Lock()
        self._sessions = sessions
        self._producer = producer
        self._max_attempts = max_attempts
        self._max_batch = max_batch
        self._retry_wait = retry_wait
        self._pending: dict[TopicPartition, int] = {}
        self._lag_reported: set[TopicPartition] = set()
        self._kafka_config = dict(
            bootstrap_servers=bootstrap,
            group_id=subscription.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            # How soon the group notices a dead instance and gives its partitions to the others.
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=heartbeat_interval_ms,
        )
        self.started = asyncio.Event()
        self.processed = 0  # records taken to their end, whatever the outcome (tests wait on it)

    async def run(self) -> None:
        # A stopped AIOKafkaConsumer cannot start again, and the supervisor calls run() again after a
        # crash (e.g. the database away): every run has its own, resuming from the committed offsets.
        self._kafka, self._pending = AIOKafkaConsumer(**self._kafka_config), {}
        try:
            await self._kafka.start()
            self._kafka.subscribe(self.subscription.topics, listener=_CommitOnRevoke(self))
            self.started.set()
            while True:
                batches = await self._kafka.getmany(timeout_ms=500, max_records=self._max_batch)
                async with self.lock:
                    for tp, records in batches.items():
                        await self.process_batch(records)
                        self.processed += len(records)
                        self._pending[tp] = records[-1].offset + 1
                        progressed()
                    await self.commit()
                await self.record_lag()
        finally:
            try:
                async with self.lock:
                    await self.commit()
            except Exception as exc:
                # Uncommitted records are redelivered and skipped by the inbox: losing this commit is safe.
                log.warning("final commit failed", extra={"error": type(exc).__name__})
            finally:
                # Always stop the client, even when that commit failed. An unstopped one stays a member of
                # the group: it heartbeats, never polls, and keeps its partitions from the next run until
                # max.poll.interval.ms (tests/faults/test_consumer_restart.py shows it).
                await self._kafka.stop()

    async def record_lag(self) -> None:
        """Set the lag gauge of every assigned partition whose end the broker has told us."""
        group = self.subscription.group
        assigned = set(self._kafka.assignment())
        # A rebalance can land between two rounds: drop what is no longer ours, whatever the listener saw.
        self.forget_lag(self._lag_reported - assigned)
        self._lag_reported = assigned
        for tp in assigned:
            end = self._kafka.highwater(tp)
            if end is None:
                continue
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow the task's own cancellation.
                async with asyncio.timeout(1):
                    position = await self._kafka.position(tp)
            except (IllegalStateError, TimeoutError):
                continue  # revoked meanwhile, or its position is being reset: the next round sets it
            metrics.CONSUMER_LAG.labels(group, tp.topic, str(tp.partition)).set(max(end - position, 0))

    async def waiting(self) -> int:
        """Records the group has not committed yet, over every partition of its topics (the watchdog's
        probe). Asked of the broker, not of this client: a client that lost its partitions knows nothing."""
        bootstrap = self._kafka_config["bootstrap_servers"]
        return await group_lag(bootstrap, self.subscription.group, self.subscription.topics)

    def forget_lag(self, partitions) -> None:
        """A partition handed to another instance is no longer this one's to report."""
        for tp in partitions:
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(self.subscription.group, tp.topic, str(tp.partition))

    async def commit(self) -> None:
        if self._pending:
            offsets, self._pending = self._pending, {}
            await self._kafka.commit(offsets)

    async def process_batch(self, records: list[ConsumerRecord]) -> None:
        """Take one partition's records to their end, in order, together when they all succeed."""
        work = [item for record in records if (item := await self._accept(record))]
        if len(work) > 1:
            try:
                await self._handle_together(work)
                return
            except (OperationalError, InterfaceError):
                raise  # the database is away: stop uncommitted (see `process`)
            except Exception as exc:
                log.warning(
                    "batch failed, handling it one event at a time", extra={"error": type(exc).__name__}
                )
        for item in work:
            await self.process(*item)
            progressed()

    async def _accept(self, record: ConsumerRecord) -> Work | None:
        """Decode a record and find its handler; a poison record is dead-lettered, a foreign type skipped."""
        try:
            envelope, event = decode(dict(record.headers), record.key, record.value)
        except PoisonMessage as poison:
            await self.dead_letter(record, poison.reason, poison.detail)
            return None
        handler = self.subscription.handlers.get(type(event))
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(self.subscription.group, envelope.type, "ignored").inc()
            return None
        return record, envelope, event, handler

    async def _handle_together(self, work: list[Work]) -> None:
        """Every record of `work` in one transaction with their inbox rows; raises if any handler fails."""
        group = self.subscription.group
        outcomes = []
        async with self._sessions.begin() as session:
            fresh = await claim_many(session, group, [envelope.id for _, envelope, _, _ in work])
            for _, envelope, event, handler in work:
                if envelope.id not in fresh:
                    outcomes.append((envelope.type, "duplicate"))
                    continue
                fresh.discard(envelope.id)  # a second copy within the batch is a duplicate too
                event_id_var.set(envelope.id)
                correlation_id_var.set(envelope.correlation_id)
                with metrics.HANDLER_SECONDS.labels(group).time():
                    await handler(session, event, envelope)
                # Per event, not per batch: a long batch that moves is slow, not stuck, and replacing it
                # would roll it back to begin again (tests/faults/test_consumer_restart.py).
                progressed()
                outcomes.append((envelope.type, "handled"))
        for event_type, outcome in outcomes:
            metrics.EVENTS_CONSUMED.labels(group, event_type, outcome).inc()

    async def process(
        self, record: ConsumerRecord, envelope: Envelope, event: Event, handler: Handler
    ) -> None:
        """Handle one decoded record alone: handled, skipped as a duplicate, or dead-lettered."""
        group = self.subscription.group
        event_id_var.set(envelope.id)
        correlation_id_var.set(envelope.correlation_id)
        try:
            with metrics.HANDLER_SECONDS.labels(group).time():
                outcome = await self._handle_with_retries(handler, event, envelope)
        except (OperationalError, InterfaceError):
            # The database is away, not the message at fault: stop here, uncommitted, and be restarted.
            raise
        except Exception as exc:
            # The type only: an exception's text can quote the data it choked on.
            log.error("handler failed for good", extra={"type": envelope.type, "error": type(exc).__name__})
            await self.dead_letter(record, "handler_failed", type(exc).__name__)
            return
        metrics.EVENTS_CONSUMED.labels(group, envelope.type, outcome).inc()

    async def _handle_with_retries(self, handler: Handler, event: Event, envelope: Envelope) -> str:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_exponential(multiplier=self._retry_wait, max=5),
            reraise=True,
        ):
            with attempt:
                async with self._sessions.begin() as session:
                    if not await claim(session, self.subscription.group, envelope.id):
                        return "duplicate"
                    await handler(session, event, envelope)
        return "handled"

    async def dead_letter(self, record: ConsumerRecord, reason: str, detail: str) -> None:
        """Park the record on `<topic>.dlq` with headers saying why; the partition moves on."""
        headers = [h for h in record.headers if not h[0].startswith("dlq_")] + [
            ("dlq_reason", reason.encode()),
            ("dlq_detail", detail.encode()[:1000]),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_consumer", self.subscription.group.encode()),
        ]
        # A huge value may not fit the dead-letter topic: its copy stays at dlq_topic/partition/offset.
        value = None if reason == "too_large" else record.value
        await self._producer.send_and_wait(dlq(record.topic), value=value, key=record.key, headers=headers)
        metrics.DEAD_LETTERED.labels(record.topic, reason).inc()
        log.warning(
            "message dead-lettered",
            extra={
                "reason": reason,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
            },
        )


async def group_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Records of `topics` that `group` has not committed yet, as the broker knows it (whether or not a
    member of the group runs)."""
    admin, ends = (
        AIOKafkaAdminClient(bootstrap_servers=bootstrap),
        AIOKafkaConsumer(bootstrap_servers=bootstrap),
    )
    try:
        await admin.start()
        await ends.start()
        described = await admin.describe_topics(topics)
        partitions = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
        committed = await admin.list_consumer_group_offsets(group)
        end, begin = await ends.end_offsets(partitions), await ends.beginning_offsets(partitions)
    finally:
        await ends.stop()
        await admin.close()
    lag = 0
    for tp in partitions:
        done = committed.get(tp)
        start = done.offset if done is not None and done.offset >= 0 else begin[tp]
        lag += max(end[tp] - start, 0)
    return lag
