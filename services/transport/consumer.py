"""What the transport service consumes from Kafka, and which handler runs for each event."""

from services.transport import domain, handlers
from shared.consumer import Subscription
from shared.events.intake import ReturneeCorrected, ReturneeReferred, ReturneeRegistered
from shared.events.quarantine import QuarantineCompleted, ReferralCleared, SymptomsReported
from shared.service import Runtime


def subscriptions(rt: Runtime) -> list[Subscription]:
    async def on_registered(session, event, _envelope) -> None:
        await handlers.record_registration(session, event=event, now=rt.clock.now())

    async def on_referred(session, event, _envelope) -> None:
        await handlers.record_hold(session, event=event, reason=domain.HOLD_REFERRED, now=rt.clock.now())

    async def on_symptoms(session, event, _envelope) -> None:
        await handlers.record_hold(session, event=event, reason=domain.HOLD_SYMPTOMS, now=rt.clock.now())

    async def on_cleared(session, event, _envelope) -> None:
        await handlers.record_referral_cleared(session, event=event, now=rt.clock.now())

    async def on_completed(session, event, _envelope) -> None:
        await handlers.record_quarantine_completed(session, event=event, now=rt.clock.now())

    return [
        Subscription(
            "transport",
            {
                ReturneeRegistered: on_registered,
                ReturneeCorrected: on_registered,
                ReturneeReferred: on_referred,
                SymptomsReported: on_symptoms,
                QuarantineCompleted: on_completed,
                ReferralCleared: on_cleared,
            },
        )
    ]
