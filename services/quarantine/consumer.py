"""What the quarantine service consumes from Kafka, and which handler runs for each event."""

from services.quarantine import handlers
from shared.consumer import Subscription
from shared.events.intake import ReturneeCorrected, ReturneeReferred, ReturneeRegistered
from shared.events.notify import SelfIsolationCheckin
from shared.events.transport import HandedOver
from shared.service import Runtime


def subscriptions(rt: Runtime) -> list[Subscription]:
    async def on_registered(session, event: ReturneeRegistered, _envelope) -> None:
        await handlers.open_episode(session, rt, event)

    async def on_corrected(session, event: ReturneeCorrected, _envelope) -> None:
        await handlers.correct_episode(session, rt, event)

    async def on_referred(session, event: ReturneeReferred, _envelope) -> None:
        await handlers.refer(session, rt, event)

    async def on_handed_over(session, event: HandedOver, _envelope) -> None:
        await handlers.start_home_episode(session, rt, event)

    async def on_checkin(session, event: SelfIsolationCheckin, _envelope) -> None:
        await handlers.commune_checkin(session, rt, event)

    return [
        Subscription(
            "quarantine",
            {
                ReturneeRegistered: on_registered,
                ReturneeCorrected: on_corrected,
                ReturneeReferred: on_referred,
                HandedOver: on_handed_over,
                SelfIsolationCheckin: on_checkin,
            },
        )
    ]
