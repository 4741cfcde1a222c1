"""Prometheus metrics every service exports (a service's own live in its `metrics.py`).

Labels hold topics, event types and route templates, never personal data.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

EVENTS_PUBLISHED = Counter("border_events_published_total", "Events published from the outbox", ["topic"])
EVENTS_CONSUMED = Counter(
    "border_events_consumed_total", "Events consumed, by outcome", ["consumer", "type", "outcome"]
)
DEAD_LETTERED = Counter("border_events_dead_lettered_total", "Messages sent to a DLQ", ["topic", "reason"])
HANDLER_SECONDS = Histogram("border_handler_seconds", "Time to handle one event", ["consumer"])
HTTP_SECONDS = Histogram(
    "border_http_request_seconds", "HTTP request duration", ["method", "route", "status"]
)
# Any token is a valid HTTP method: a label per method a client makes up would grow without bound.
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

# Every replica of a service reads the same database, so these read the same: aggregate with max().
OUTBOX_BACKLOG = Gauge("border_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "border_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (0 when none)", ["service"]
)
OUTBOX_PARKED = Gauge(
    "border_outbox_parked",
    "Outbox rows the broker refused for good, parked until an operator releases them",
    ["service"],
)
CONSUMER_LAG = Gauge(
    "border_consumer_lag",
    "Records between a partition's end and this consumer's position",
    ["consumer", "topic", "partition"],
)
LOOP_STALLED = Gauge(
    "border_loop_stalled",
    "1 while a background loop has work waiting and has made no progress (see shared/liveness.py)",
    ["service", "loop"],
)
LOOP_REPLACED = Counter(
    "border_loop_replaced_total",
    "Background loops cancelled and started again as stalled",
    ["service", "loop"],
)
# A refresher reads the current state (a count in the database, a status page) into gauges at scrape time:
# async, so it runs in the endpoint's event loop instead of a synchronous collector.
Refresher = Callable[[], Awaitable[None]]
REFRESH_TIMEOUT = 5.0


async def refresh(refreshers: Sequence[Refresher]) -> None:
    """Run the refreshers side by side; one that fails or hangs keeps its old values, the scrape goes on."""

    async def one(run: Refresher) -> None:
        try:
            async with asyncio.timeout(REFRESH_TIMEOUT):
                await run()
        except Exception as exc:
            log.warning("metrics refresh failed", extra={"error": type(exc).__name__})

    # Together they stay within one timeout, under Prometheus's 10-second scrape timeout.
    await asyncio.gather(*(one(run) for run in refreshers))


class HttpMetricsMiddleware:
    """Times every request under its route template (`/returnees/{id}`), not its raw path."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"] if scope["method"] in HTTP_METHODS else "other"
            HTTP_SECONDS.labels(method, template, str(status[0])).observe(time.perf_counter() - start)
