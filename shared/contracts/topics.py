"""Kafka topics of the system, each with its dead-letter twin."""

from dataclasses import dataclass

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
