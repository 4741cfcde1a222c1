"""What the intake service consumes from Kafka, and which handler runs for each event."""

from shared.consumer import Subscription


def subscriptions() -> list[Subscription]:
    return []
