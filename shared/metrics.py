"""Prometheus metrics shared by the services.

Labels hold topics, event types and route templates, never personal data.
"""

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Receive, Scope, Send

EVENTS_PUBLISHED = Counter("border_events_published_total", "Events published from the outbox", ["topic"])
EVENTS_CONSUMED = Counter(
    "border_events_consumed_total", "Events consumed, by outcome", ["consumer", "type", "outcome"]
)
DEAD_LETTERED = Counter("border_events_dead_lettered_total", "Messages sent to a DLQ", ["topic", "reason"])
HANDLER_SECONDS = Histogram("border_handler_seconds", "Time to handle one event", ["consumer"])
HTTP_SECONDS = Histogram(
    "border_http_request_seconds", "HTTP request duration", ["method", "route", "status"]
)


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
            HTTP_SECONDS.labels(scope["method"], template, str(status[0])).observe(
                time.perf_counter() - start
            )
