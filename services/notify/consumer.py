"""What the notify service consumes from Kafka, and which handler runs for each event."""

from services.notify import handlers
from shared.contracts.intake import ReturneeCorrected, ReturneeRegistered
from shared.contracts.quarantine import QuarantineStarted, SymptomsReported
from shared.contracts.transport import HandedOver, ManifestDispatched
from shared.messaging.consumer import Subscription
from shared.unit_of_work import Deps


def subscriptions(deps: Deps) -> list[Subscription]:
    remember = deps.handler(handlers.remember_returnee)
    # One group per topic, so a slow topic never holds back the alerts of another.
    group = "notify."
    return [
        Subscription(group + "returnees", {ReturneeRegistered: remember, ReturneeCorrected: remember}),
        Subscription(
            group + "episodes",
            {
                SymptomsReported: deps.handler(handlers.on_symptoms),
                QuarantineStarted: deps.handler(handlers.on_quarantine_started),
            },
        ),
        Subscription(
            group + "transfers",
            {
                ManifestDispatched: deps.handler(handlers.on_dispatched),
                HandedOver: deps.handler(handlers.on_handed_over),
            },
        ),
    ]
