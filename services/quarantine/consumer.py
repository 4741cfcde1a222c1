"""What the quarantine service consumes from Kafka, and which handler runs for each event."""

from services.quarantine import handlers
from shared.contracts.intake import ReturneeCorrected, ReturneeReferred, ReturneeRegistered
from shared.contracts.notify import SelfIsolationCheckin
from shared.contracts.transport import HandedOver
from shared.messaging.consumer import Subscription
from shared.unit_of_work import Deps


def subscriptions(deps: Deps) -> list[Subscription]:
    return [
        Subscription(
            "quarantine",
            {
                ReturneeRegistered: deps.handler(handlers.open_episode),
                ReturneeCorrected: deps.handler(handlers.correct_episode),
                ReturneeReferred: deps.handler(handlers.refer),
                HandedOver: deps.handler(handlers.start_home_episode),
                SelfIsolationCheckin: deps.handler(handlers.commune_checkin),
            },
        )
    ]
