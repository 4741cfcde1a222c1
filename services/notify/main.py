"""Wiring of the notify service: the app factory and the console entry point `border-notify`."""

import asyncio
from functools import partial
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from services.notify import alerts_api, cli, handlers, metrics, queries
from services.notify.api import router
from services.notify.consumer import subscriptions
from services.notify.gateways import kannel_queues
from services.notify.settings import Settings
from services.notify.worker import CHANNELS, DeliveryWorker
from shared.cli import service_cli
from shared.liveness import progressed
from shared.unit_of_work import Deps
from shared.web.service import create_service_app

MIGRATIONS = Path(__file__).parent / "migrations"
STATIC = Path(__file__).parent / "static"


STATES = ("no_contact", "waiting", "queued", "sending", "sent", "delivered", "failed")


async def refresh_deliveries(deps: Deps[Settings]) -> None:
    """Deliveries by channel and state; states with none read 0 so alerts see them."""
    counts = await deps.run(queries.delivery_counts)
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


async def run_scanner(deps: Deps[Settings]) -> None:
    """Escalate and complete follow-ups, and give up alerts whose registration never came, each round."""
    while True:
        await deps.run(handlers.scan_followups)
        await deps.run(handlers.expire_waiting)
        progressed()
        await asyncio.sleep(deps.settings.scan_interval_seconds)


def create_app(settings: Settings) -> FastAPI:
    app: FastAPI

    def background(deps: Deps[Settings]):
        worker = DeliveryWorker(deps)
        app.state.delivery_worker = worker  # tests and the benchmark wake it or watch it
        return [
            ("delivery-worker", worker.run, worker.waiting),
            ("followup-scanner", partial(run_scanner, deps)),
        ]

    app = create_service_app(
        settings,
        title="Notify: commune follow-up by SMS and webhooks",
        routers=[router, alerts_api.router],
        subscriptions=subscriptions,
        background=background,
        refreshers=lambda deps: [partial(refresh_deliveries, deps), partial(refresh_kannel, settings)],
    )
    # District officers often work over a mobile connection: compress the page and the lists.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    # The config routes are matched first; everything else under /notify is the officers' page.
    app.mount("/notify", StaticFiles(directory=STATIC, html=True), name="notify-page")
    return app


run = service_cli(Settings, create_app, MIGRATIONS)
cli.add_commands(run, Settings, MIGRATIONS)
