"""Wiring of the notify service: the app factory and the console entry point `border-notify`."""

from functools import partial
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.notify import cli
from services.notify.api import router
from services.notify.consumer import subscriptions
from services.notify.gateways import kannel_queues
from services.notify.models import Delivery
from services.notify.settings import Settings
from services.notify.worker import DeliveryWorker, run_scanner
from shared import metrics
from shared.cli import service_cli
from shared.service import Runtime, create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"


CHANNELS = ("sms", "webhook")
STATES = ("queued", "sending", "sent", "delivered", "failed")


async def refresh_deliveries(rt: Runtime) -> None:
    """Deliveries by channel and state; states with none read 0 so alerts see them."""
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(Delivery.channel, Delivery.state, func.count()).group_by(
                    Delivery.channel, Delivery.state
                )
            )
        ).all()
    counts = {(channel, state): n for channel, state, n in rows}
    for channel in CHANNELS:
        for state in STATES:
            metrics.DELIVERIES.labels(channel, state).set(counts.get((channel, state), 0))


async def refresh_kannel(settings: Settings) -> None:
    """Queue lengths from bearerbox's status page; `border_kannel_up` says whether it answered."""
    if not settings.kannel_status_url:
        return
    async with httpx.AsyncClient() as client:
        queues = await kannel_queues(settings, client) or {}
    metrics.KANNEL_UP.labels("kannel").set(1 if queues else 0)
    for queue, length in queues.items():
        metrics.KANNEL_QUEUE.labels(queue).set(length)


def create_app(settings: Settings) -> FastAPI:
    app: FastAPI

    def background(rt: Runtime):
        worker = DeliveryWorker(rt.sessions, settings, rt.clock, rt.source)
        app.state.delivery_worker = worker  # tests and the benchmark wake it or watch it

        async def scanner() -> None:
            await run_scanner(rt.sessions, settings=settings, clock=rt.clock, source=rt.source)

        return [("delivery-worker", worker.run, worker.waiting), ("followup-scanner", scanner)]

    app = create_service_app(
        settings,
        title="Notify: commune follow-up by SMS and webhooks",
        routers=[router],
        subscriptions=subscriptions,
        background=background,
        refreshers=lambda rt: [partial(refresh_deliveries, rt), partial(refresh_kannel, settings)],
    )
    return app


run = service_cli(Settings, create_app, MIGRATIONS)
cli.add_commands(run, Settings, MIGRATIONS)
