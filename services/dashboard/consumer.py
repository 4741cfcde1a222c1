"""What the dashboard consumes: every contract on every topic, into its read model."""

from services.dashboard.handlers import HANDLERS, on_other
from shared.consumer import Handler, Subscription
from shared.events import REGISTRY, Event, event_class
from shared.service import Runtime
from shared.topics import TOPICS


def handlers() -> dict[type[Event], Handler]:
    """A handler for every contract of the system's topics; one without a figure yet is still recorded."""
    event_class("")  # imports every contract module, so REGISTRY is complete
    topics = {t.name for t in TOPICS}
    found = {cls: on_other for cls in REGISTRY.values() if cls.topic in topics}
    return found | HANDLERS


def subscriptions(rt: Runtime) -> list[Subscription]:
    """One group over every topic; several members of it share the partitions when `consumers` > 1."""
    topics = sorted(t.name for t in TOPICS)
    group = rt.settings.consumer_group  # type: ignore[attr-defined]
    return [Subscription(group, handlers(), topics) for _ in range(rt.settings.consumers)]  # type: ignore[attr-defined]
