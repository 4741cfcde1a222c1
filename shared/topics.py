"""Kafka topics of the system, each with its dead-letter twin, and the command that creates them."""

import asyncio
import contextlib
from dataclasses import dataclass

import typer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

RETURNEE = "intake.returnee.v1"
EPISODE = "quarantine.episode.v1"
TRANSFER = "transport.transfer.v1"
FOLLOWUP = "notify.followup.v1"

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int


# Every returnee topic is keyed by returnee id; six partitions let six consumers share the load.
TOPICS = [TopicSpec(name, 6) for name in (RETURNEE, EPISODE, TRANSFER, FOLLOWUP)]


def dlq(topic: str) -> str:
    return topic + DLQ_SUFFIX


def all_specs(prefix: str = "", topics: list[TopicSpec] = TOPICS) -> list[TopicSpec]:
    """The topics with their dead-letter twins; one partition per DLQ keeps it in arrival order."""
    return [
        s
        for t in topics
        for s in (TopicSpec(prefix + t.name, t.partitions), TopicSpec(dlq(prefix + t.name), 1))
    ]


async def ensure_topics(bootstrap: str, specs: list[TopicSpec] | None = None) -> list[str]:
    """Create the missing topics; returns the names created."""
    specs = all_specs() if specs is None else specs
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            # Another process may win the race to create a topic: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(s.name, num_partitions=s.partitions, replication_factor=1) for s in missing]
                )
        return [s.name for s in missing]
    finally:
        await admin.close()


def cli(bootstrap: str = typer.Option("127.0.0.1:9092", envvar="KAFKA_BOOTSTRAP_SERVERS")) -> None:
    """Create the system's topics and their .dlq twins on the broker."""
    created = asyncio.run(ensure_topics(bootstrap))
    typer.echo(f"topics ready ({len(created)} created)")


def main() -> None:
    typer.run(cli)
