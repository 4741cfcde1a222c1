"""What the intake service consumes from Kafka, and which handler runs for each event."""

from shared.messaging.consumer import Subscription
from shared.unit_of_work import Deps


def subscriptions(deps: Deps) -> list[Subscription]:
    return []
