"""The frame every service runs in: a FastAPI app whose lifespan owns the database, the producer,
the outbox relay and the consumers, with `/healthz`, `/readyz` and `/metrics`."""

import asyncio
import hmac
import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics
from shared.audit import audit_router
from shared.clock import Clock
from shared.db import make_engine
from shared.errors import DomainError, Invalid
from shared.liveness import Loop, Waiting, Watchdog
from shared.logging import CorrelationMiddleware, configure_logging
from shared.messaging.consumer import EventConsumer, Subscription
from shared.messaging.outbox import OutboxRelay
from shared.metrics import HttpMetricsMiddleware, Refresher
from shared.settings import ServiceSettings
from shared.unit_of_work import Deps
from shared.web.api_errors import document_common_errors
from shared.web.auth import DenyUnruledRoutes

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What a running service holds; reachable from routes as `request.app.state.runtime`."""

    settings: ServiceSettings
    engine: AsyncEngine
    deps: Deps  # what routes, consumers, CLIs and loops run use cases with
    producer: AIOKafkaProducer
    relay: OutboxRelay
    consumers: list[EventConsumer] = field(default_factory=list)
    # Every supervised background loop: the relay first, then the consumers and the service's own.
    loops: list[Loop] = field(default_factory=list)
    watchdog: asyncio.Task | None = None
    # Run by /metrics before it answers: each reads some current state into gauges.
    metric_refreshers: list[Refresher] = field(default_factory=list)

    _consumer_loops: dict[EventConsumer, Loop] = field(default_factory=dict)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.deps.sessions

    @property
    def clock(self) -> Clock:
        return self.deps.clock

    @property
    def source(self) -> str:
        """The CloudEvents `source` of everything this service publishes."""
        return self.deps.source

    def start_consumer(self, subscription: Subscription) -> EventConsumer:
        """Run a consumer for an already prefixed subscription, supervised like every background loop."""
        consumer = EventConsumer(
            subscription,
            bootstrap=self.settings.kafka_bootstrap_servers,
            sessions=self.sessions,
            producer=self.producer,
            max_attempts=self.settings.consumer_max_attempts,
            max_batch=self.settings.consumer_max_batch,
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=self.settings.consumer_heartbeat_interval_ms,
        )
        self.consumers.append(consumer)
        self._consumer_loops[consumer] = self.start_loop(subscription.group, consumer.run, consumer.waiting)
        return consumer

    def start_loop(self, name: str, run: Callable[[], Awaitable[None]], waiting: Waiting = None) -> Loop:
        """Run `run` supervised: started again after a crash, replaced when it stalls with work waiting."""
        loop = Loop(name, run, waiting, service=self.settings.service_name)
        loop.start()
        self.loops.append(loop)
        return loop

    async def restart_group(self, group: str, reset: Callable[[], Awaitable[None]]) -> None:
        """Stop the consumers of `group` (each commits what it finished), run `reset`, start them afresh.

        A read model rebuilds itself this way: `reset` empties its tables and rewinds the group.
        """
        old = [c for c in self.consumers if c.subscription.group == group]
        if not old:
            raise LookupError(f"no consumer of group {group} runs here")
        loops = [self._consumer_loops.pop(c) for c in old]
        await asyncio.gather(*(loop.stop() for loop in loops))
        self.consumers = [c for c in self.consumers if c not in old]
        self.loops = [loop for loop in self.loops if loop not in loops]
        await reset()
        for consumer in old:
            self.start_consumer(consumer.subscription)


def make_producer(bootstrap: str) -> AIOKafkaProducer:
    """An idempotent producer: acks from all replicas, no duplicates or reordering on retry."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        request_timeout_ms=15000,
    )


SubscriptionsFactory = Callable[[Deps], Sequence[Subscription]]
# Extra loops a service runs beside its consumers, as (name, coroutine function) pairs, or triples whose
# third item tells how much work waits for the loop (see shared/liveness.py); each is supervised.
Background = tuple[str, Callable[[], Awaitable[None]]] | tuple[str, Callable[[], Awaitable[None]], Waiting]
BackgroundFactory = Callable[[Deps], Sequence[Background]]


async def start_runtime(settings: ServiceSettings, subscriptions: SubscriptionsFactory) -> Runtime:
    engine = make_engine(settings.database_url)
    deps = Deps.of(settings, engine)
    producer = make_producer(settings.kafka_bootstrap_servers)
    await producer.start()
    relay = OutboxRelay(
        deps.sessions,
        producer,
        batch_size=settings.outbox_batch_size,
        poll_seconds=settings.outbox_poll_seconds,
        max_attempts=settings.outbox_max_attempts,
    )
    rt = Runtime(settings, engine, deps, producer, relay)
    rt.start_loop("outbox-relay", relay.run, relay.waiting)
    watchdog = Watchdog(
        lambda: rt.loops, stall_seconds=settings.loop_stall_seconds, healthy=partial(_dependencies_answer, rt)
    )
    rt.watchdog = asyncio.create_task(watchdog.run())
    rt.metric_refreshers.append(partial(_refresh_outbox, rt))
    if settings.consumer_enabled:
        for sub in subscriptions(rt.deps):
            # Groups carry the prefix too: tests (and tenants) sharing a broker never share a consumer group.
            rt.start_consumer(
                Subscription(
                    settings.topic_prefix + sub.group,
                    sub.handlers,
                    [settings.topic_prefix + t for t in sub.topics],
                )
            )
    return rt


async def _refresh_outbox(rt: Runtime) -> None:
    count, oldest = await rt.relay.backlog()
    # Wall-clock time, like the rows' created_at: the demo clock's speed must not age the backlog.
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    service = rt.settings.service_name
    metrics.OUTBOX_BACKLOG.labels(service).set(count)
    metrics.OUTBOX_OLDEST_AGE.labels(service).set(max(age, 0.0))
    metrics.OUTBOX_PARKED.labels(service).set(await rt.relay.parked_count())


async def stop_runtime(rt: Runtime) -> None:
    # Cancel again while anything is left: a task can swallow one cancellation (and must not hang shutdown).
    tasks = [rt.watchdog] if rt.watchdog else []
    pending = {*tasks, *(loop.task for loop in rt.loops if loop.task)}
    for _ in range(10):
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=1)
        if not pending:
            break
    if pending:
        log.error("background tasks did not stop", extra={"tasks": len(pending)})
    await rt.producer.stop()
    await rt.engine.dispose()


async def _dependency_checks(rt: Runtime) -> dict[str, str]:
    checks = {}
    try:
        async with rt.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 3)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = type(exc).__name__
    try:
        await asyncio.wait_for(rt.producer.client.fetch_all_metadata(), 3)
        checks["kafka"] = "ok"
    except Exception as exc:
        checks["kafka"] = type(exc).__name__
    return checks


async def _dependencies_answer(rt: Runtime) -> bool:
    return all(v == "ok" for v in (await _dependency_checks(rt)).values())


async def get_runtime(request: Request) -> Runtime:  # async: no thread-pool hop (see shared/web/auth.py)
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

health = APIRouter(tags=["operations"])


@health.get("/healthz")
async def healthz() -> dict:
    """The process is up."""
    return {"status": "ok"}


@health.get(
    "/readyz",
    responses={503: {"description": "The database or the broker does not answer, or a loop is stalled"}},
)
async def readyz(rt: RuntimeDep) -> Response:
    """Ready when the database answers, the broker serves metadata and no background loop is stalled."""
    checks = {f"loop:{loop.name}": "stalled" for loop in rt.loops if loop.stalled}
    checks.update(await _dependency_checks(rt))
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


def _may_scrape(request: Request) -> None:
    """The scrape token's bearer, or (with no token set, outside production) a loopback caller.

    Checked before the refreshers run: an unauthorised caller costs no database query.
    """
    settings: ServiceSettings = request.app.state.settings
    if settings.metrics_token is not None:
        expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise HTTPException(401, "a scrape token is required", headers={"WWW-Authenticate": "Bearer"})
        return
    host = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if settings.environment == "prod" or not loopback:
        raise HTTPException(403, "metrics are served to loopback callers only while METRICS_TOKEN is unset")


@health.get(
    "/metrics",
    response_class=PlainTextResponse,  # the Prometheus text format
    dependencies=[Depends(_may_scrape)],
    responses={401: {"description": "No or a wrong scrape token"}, 403: {"description": "Not loopback"}},
)
async def metrics_endpoint(request: Request) -> Response:
    rt = getattr(request.app.state, "runtime", None)
    if rt is not None:
        await metrics.refresh(rt.metric_refreshers)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def _refused(request: Request, exc: Exception) -> Response:
    """A use case's refusal as its HTTP answer; a rule's 422 in the shape of FastAPI's own."""
    if isinstance(exc, Invalid):
        problem = {"loc": list(exc.loc), "msg": exc.message, "type": "value_error"}
        return await request_validation_exception_handler(request, RequestValidationError([problem]))
    assert isinstance(exc, DomainError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies over `max_bytes` with 413: at once when Content-Length says so, else as soon
    as the streamed chunks add up to more. Pure ASGI, outside every route: nothing has read the body yet.

    A route that reads a streamed body past the cap gets an exception from `receive`; whatever it answers
    then is dropped for the 413, so nothing it did with a partial body is acknowledged. Use cases read the
    whole body before they write, so nothing is stored either (tests/integration/test_body_limit.py).
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await JSONResponse({"detail": "invalid Content-Length"}, 400)(scope, receive, send)
                return
            if int(length) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        received = 0
        exceeded = started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the 413 below answers instead
            started = True
            await send(message)

        with suppress(_TooLarge):
            await self.app(scope, counted, guarded)
        if exceeded and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"request body over {self.max_bytes} bytes"
        await JSONResponse({"detail": detail}, 413, headers={"Connection": "close"})(scope, receive, send)


def _point_swagger_at_the_issuer(app: FastAPI, token_url: str) -> None:
    """The password flow's `tokenUrl` is relative (`/auth/token`): right for identity alone. Every other
    service names the issuer, so Swagger's Authorize works on each."""
    schema_of = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = schema_of()
            for scheme in schema.get("components", {}).get("securitySchemes", {}).values():
                flow = scheme.get("flows", {}).get("password")
                if flow and flow["tokenUrl"] not in schema.get("paths", {}):
                    flow["tokenUrl"] = token_url
        return app.openapi_schema

    app.openapi = openapi


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    subscriptions: SubscriptionsFactory = lambda _deps: (),
    background: BackgroundFactory = lambda _deps: (),
    refreshers: Callable[[Deps], Sequence[Refresher]] = lambda _deps: (),
) -> FastAPI:
    """Build a service's app; nothing connects until the lifespan starts.

    The factories are called with the started service's `Deps`, to make handlers and loops that run use
    cases with it.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        app.state.runtime = rt = await start_runtime(settings, subscriptions)
        app.state.deps = rt.deps
        for name, run, *waiting in background(rt.deps):
            rt.start_loop(name, run, *waiting)
        rt.metric_refreshers.extend(refreshers(rt.deps))
        log.info("service started")
        try:
            yield
        finally:
            await stop_runtime(app.state.runtime)

    app = FastAPI(title=title, lifespan=lifespan)
    _point_swagger_at_the_issuer(app, settings.jwt_token_url)
    app.state.token_config = settings.token_config()
    app.state.settings = settings  # read by the /metrics check before the runtime exists
    app.add_middleware(DenyUnruledRoutes)  # deny by default: a route without require()/public() answers 403
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # before anything reads a body
    app.add_middleware(HttpMetricsMiddleware)
    app.add_middleware(CorrelationMiddleware)  # outermost: even a refused request's log lines carry the id
    app.add_exception_handler(DomainError, _refused)
    app.include_router(health)
    # Every service keeps who read or changed which record; the national administrator reads it here.
    app.include_router(audit_router())
    for router in routers:
        app.include_router(router)
    document_common_errors(app)  # the 400/401/403 every route may answer, in the OpenAPI document
    return app
