"""What the transport service consumes from Kafka, and which handler runs for each event."""

from shared.consumer import Subscription
from shared.service import Runtime


def subscriptions(rt: Runtime) -> list[Subscription]:
    return []
