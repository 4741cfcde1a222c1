"""Structured JSON logs carrying the event id and correlation id of the work in hand.

Only ids go into log records: names, phones and screenings of returnees never do.
"""

import logging
import re
import sys
import uuid
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

event_id_var: ContextVar[str | None] = ContextVar("event_id", default=None)
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


CORRELATION_HEADER = "x-correlation-id"
# A caller's id is kept only if it looks like an id: a header is free text, and logs must not carry data.
_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class CorrelationMiddleware:
    """Give each HTTP request a correlation id (the caller's `X-Correlation-ID`, or a new one).

    The id goes into every log line of the request and into every event it writes to the outbox, so the
    work it starts can be followed through the other services; the response echoes it back.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
        correlation_id = given if _CORRELATION_ID.fullmatch(given) else uuid.uuid4().hex
        token = correlation_id_var.set(correlation_id)

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (CORRELATION_HEADER.encode(), correlation_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id_var.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.event_id = event_id_var.get()
        record.correlation_id = correlation_id_var.get()
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record, uvicorn's and aiokafka's included, to stdout as one JSON object a line."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(event_id)s %(correlation_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Access logs carry query strings, which may hold search terms typed by officers.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # httpx logs every URL at INFO; a gateway URL can hold credentials, phone numbers and message text.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # WeasyPrint narrates every layout step at INFO, and the fonts it lacks at WARNING.
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
