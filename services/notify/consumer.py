"""What the notify service consumes from Kafka, and which handler runs for each event."""

from datetime import timedelta

from services.notify import handlers
from shared.consumer import Subscription
from shared.events.intake import QuarantinePolicy, ReturneeCorrected, ReturneeRegistered
from shared.events.quarantine import QuarantineStarted, SymptomsReported
from shared.events.transport import HandedOver, ManifestDispatched
from shared.service import Runtime


def subscriptions(rt: Runtime) -> list[Subscription]:
    visit_due = timedelta(hours=rt.settings.visit_due_hours)

    async def on_registered(session, event: ReturneeRegistered, envelope) -> None:
        await handlers.remember_returnee(session, event=event, correlation_id=envelope.correlation_id)

    async def on_dispatched(session, event: ManifestDispatched, _envelope) -> None:
        for passenger in event.passengers:
            await handlers.alert_dispatched(
                session,
                returnee_id=passenger.returnee_id,
                village_code=passenger.home_village_code,
                manifest_id=event.manifest_id,
                expected_arrival=event.expected_arrival,
                now=rt.clock.now(),
            )

    async def on_handed_over(session, event: HandedOver, _envelope) -> None:
        await handlers.alert_handed_over(
            session,
            returnee_id=event.returnee_id,
            village_code=event.home_village_code,
            manifest_id=event.manifest_id,
            handed_over_at=event.handed_over_at,
            visit_due=visit_due,
            now=rt.clock.now(),
        )

    async def on_symptoms(session, event: SymptomsReported, _envelope) -> None:
        await handlers.alert_symptoms(
            session,
            returnee_id=event.returnee_id,
            village_code=event.home_village_code,
            reported_at=event.reported_at,
            now=rt.clock.now(),
        )

    async def on_quarantine_started(session, event: QuarantineStarted, _envelope) -> None:
        if event.mode is QuarantinePolicy.home:
            await handlers.mark_home_isolation(
                session,
                returnee_id=event.returnee_id,
                village_code=event.home_village_code,
                now=rt.clock.now(),
            )

    # One group per topic, so a slow topic never holds back the alerts of another.
    group = "notify."
    return [
        Subscription(
            group + "returnees", {ReturneeRegistered: on_registered, ReturneeCorrected: on_registered}
        ),
        Subscription(
            group + "episodes", {SymptomsReported: on_symptoms, QuarantineStarted: on_quarantine_started}
        ),
        Subscription(group + "transfers", {ManifestDispatched: on_dispatched, HandedOver: on_handed_over}),
    ]
