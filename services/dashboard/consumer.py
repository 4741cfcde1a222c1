"""What the dashboard consumes: every contract on every topic, into its read model."""

from services.dashboard.handlers import HANDLERS, on_other
from services.dashboard.settings import Settings
from shared.contracts import REGISTRY, Event, event_class
from shared.contracts.topics import TOPICS
from shared.messaging.consumer import Subscription
from shared.unit_of_work import Deps, UseCase


def handlers() -> dict[type[Event], UseCase[None]]:
    """A use case for every contract of the system's topics; one without a figure yet is still recorded."""
    event_class("")  # imports every contract module, so REGISTRY is complete
    topics = {t.name for t in TOPICS}
    found = {cls: on_other for cls in REGISTRY.values() if cls.topic in topics}
    return found | HANDLERS


def subscriptions(deps: Deps[Settings]) -> list[Subscription]:
    """One group over every topic; several members of it share the partitions when `consumers` > 1."""
    topics = sorted(t.name for t in TOPICS)
    running = {cls: deps.handler(use_case) for cls, use_case in handlers().items()}
    group = deps.settings.consumer_group
    return [Subscription(group, running, topics) for _ in range(deps.settings.consumers)]
