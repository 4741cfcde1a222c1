"""What the transport service consumes from Kafka, and which handler runs for each event."""

from services.transport import handlers
from shared.contracts.intake import ReturneeCorrected, ReturneeReferred, ReturneeRegistered
from shared.contracts.quarantine import QuarantineCompleted, ReferralCleared, SymptomsReported
from shared.messaging.consumer import Subscription
from shared.unit_of_work import Deps


def subscriptions(deps: Deps) -> list[Subscription]:
    on_registered = deps.handler(handlers.on_registered)
    return [
        Subscription(
            "transport",
            {
                ReturneeRegistered: on_registered,
                ReturneeCorrected: on_registered,
                ReturneeReferred: deps.handler(handlers.on_referred),
                SymptomsReported: deps.handler(handlers.on_symptoms),
                QuarantineCompleted: deps.handler(handlers.on_quarantine_completed),
                ReferralCleared: deps.handler(handlers.on_referral_cleared),
            },
        )
    ]
