"""Test infrastructure: the real broker and PostgreSQL, started once per session.

Two backends. `local`: the services the README's test command started (KAFKA_BOOTSTRAP_SERVERS,
TEST_POSTGRES_URL). `testcontainers`: official images, when a Docker engine answers; otherwise those
tests are skipped with the reason. Each test gets its own topics, consumer groups and databases.
"""

import asyncio
import importlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.identity.keys import SigningKey, generate_pem
from shared.contracts.topics import TopicSpec, all_specs, dlq
from shared.messaging.admin import ensure_topics
from shared.messaging.codec import decode, encode
from shared.migrations import upgrade
from shared.web.auth import Grant, TokenConfig, issue_token


def _notify_kannel_secrets() -> None:
    """Give notify the credentials of the running Kannel, from the secrets.env deploy/kannel.sh made at
    its first start, unless the environment gives them (deploy/test.sh exports them from the same file)."""
    secrets = Path(os.environ.get("KANNEL_RUN_DIR", ROOT / ".run" / "kannel")) / "secrets.env"
    if not secrets.is_file():
        return
    values = dict(line.split("=", 1) for line in secrets.read_text().splitlines() if "=" in line)
    for notify, kannel in KANNEL_SECRETS.items():
        if kannel in values:
            os.environ.setdefault(notify, values[kannel])


ROOT = Path(__file__).resolve().parents[1]
KANNEL_SECRETS = {
    "NOTIFY_KANNEL_SEND_PASSWORD": "KANNEL_SEND_PASSWORD",
    "NOTIFY_KANNEL_INBOUND_SECRET": "KANNEL_INBOUND_SECRET",
    "NOTIFY_KANNEL_STATUS_PASSWORD": "KANNEL_ADMIN_PASSWORD",
}
_notify_kannel_secrets()


@dataclass
class Infra:
    name: str
    kafka: str
    postgres_admin_url: str  # a maintenance database (postgres) on the server, with CREATEDB rights


def _docker_answers() -> str | None:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return None
    except Exception as exc:
        return f"no Docker engine answers here ({type(exc).__name__}); the local-broker path runs instead"


BROKER_FIXTURES = {"infra", "local_infra", "testcontainers_infra"}


def pytest_collection_modifyitems(items):
    """Mark every test that stands on the real broker and database (through any fixture): the fast tier
    (`make test-fast`) is the rest."""
    for item in items:
        if BROKER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.broker)


@pytest.fixture(scope="session")
def local_infra() -> Infra:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    pg = os.environ.get("TEST_POSTGRES_URL")
    if not kafka or not pg:
        pytest.fail(
            "KAFKA_BOOTSTRAP_SERVERS and TEST_POSTGRES_URL must be set: run the README's test command"
        )
    return Infra("local", kafka, pg)


@pytest.fixture(scope="session")
def testcontainers_infra():
    reason = _docker_answers()
    if reason:
        pytest.skip(reason)
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    # testcontainers' Kafka module drives Confluent's image (its start script); in KRaft mode it is the
    # same broker protocol as the apache/kafka image of docker-compose.yml.
    with (
        KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as kafka,
        PostgresContainer("postgres:16", driver="psycopg") as pg,
    ):
        yield Infra("testcontainers", kafka.get_bootstrap_server(), pg.get_connection_url())


@pytest.fixture(scope="session", params=["local", "testcontainers"])
def infra(request) -> Infra:
    """Both backends, for the contract tests that must hold on either."""
    return request.getfixturevalue(f"{request.param}_infra")


@pytest.fixture
def unique() -> Callable[[str], str]:
    def make(prefix: str) -> str:
        return f"{prefix}_{uuid.uuid4().hex[:10]}"

    return make


@pytest.fixture
async def topic(infra: Infra, unique):
    """A fresh 6-partition topic and its DLQ, for one test."""
    name = unique("test.topic").replace("_", ".")
    await ensure_topics(infra.kafka, [TopicSpec(name, 6), TopicSpec(dlq(name), 1)])
    yield name
    await delete_topics(infra.kafka, [name, dlq(name)])


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    """Tests delete what they create: thousands of leftover partitions exhaust a small broker's heap."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


async def create_database(admin_url: str, name: str) -> str:
    """Create an empty database on the server of `admin_url`; returns its async URL."""
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


async def drop_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture
async def database(infra: Infra, unique):
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = unique("test")
    url = await create_database(infra.postgres_admin_url, name)
    yield url
    await drop_database(infra.postgres_admin_url, name)


async def read_topic(bootstrap: str, topic: str, *, expect: int, timeout: float = 20.0, settle: float = 1.0):
    """Read a topic from the start until `expect` records came, then `settle` seconds more to catch extras."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records = []
    try:
        deadline = time.monotonic() + timeout
        settle_until = None
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
            now = time.monotonic()
            if len(records) >= expect and settle_until is None:
                settle_until = now + settle
            if settle_until is not None and now >= settle_until:
                break
            if now > deadline:
                break
    finally:
        await consumer.stop()
    return records


# --- running services in-process against the real broker and database ---------------------------------


@dataclass
class RunningService:
    name: str
    app: object
    client: "httpx.AsyncClient"
    database_url: str

    @property
    def runtime(self):
        return self.app.state.runtime


class Stack:
    """Services of one test, sharing a topic prefix of their own; each on a fresh PostgreSQL database."""

    def __init__(self, infra: Infra, prefix: str):
        self.infra = infra
        self.prefix = prefix
        self.services: dict[str, RunningService] = {}
        self._exits = []
        self._databases = []

    def settings(self, name: str, database_url: str, **overrides):
        module = importlib.import_module(f"services.{name}.settings")
        keys = (
            {"signing_key": TEST_SIGNING_KEY.private_pem}
            if name == "identity"
            else {"jwt_key": TEST_PUBLIC_KEY}
        )
        return module.Settings(
            database_url=database_url,
            kafka_bootstrap_servers=self.infra.kafka,
            topic_prefix=self.prefix,
            environment="test",
            **(keys | overrides),
        )

    async def start(self, name: str, **overrides) -> RunningService:
        """Migrate a fresh database and run the service's app (lifespan included) in this event loop."""
        main = importlib.import_module(f"services.{name}.main")
        db_name = f"{self.prefix.strip('.')}_{name}"
        url = await create_database(self.infra.postgres_admin_url, db_name)
        self._databases.append(db_name)
        await asyncio.to_thread(upgrade, main.MIGRATIONS, url)
        app = main.create_app(self.settings(name, url, **overrides))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        self._exits.append(lifespan)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
        service = RunningService(name, app, client, url)
        self.services[name] = service
        for consumer in app.state.runtime.consumers:
            await asyncio.wait_for(consumer.started.wait(), 30)
        # A test that ends while the relay is still logging in leaves a half-open session on the server,
        # and DROP DATABASE then waits out the server's authentication timeout.
        await asyncio.wait_for(app.state.runtime.relay.ready.wait(), 30)
        return service

    def topic(self, name: str) -> str:
        return self.prefix + name

    async def publish(self, producer, *events, event_id: str | None = None) -> None:
        """Put contract events on this stack's topics, as their owning services would."""
        for event in events:
            message = encode(event, source="/test", event_id=event_id)
            key = message.key.encode() if isinstance(message.key, str) else message.key
            await producer.send_and_wait(
                self.topic(event.topic), key=key, value=message.value, headers=list(message.headers.items())
            )

    async def events(self, topic: str, *, expect: int, timeout: float = 20.0, settle: float = 0.5):
        """Decoded (envelope, event) pairs on one of this stack's topics."""
        records = await read_topic(
            self.infra.kafka, self.topic(topic), expect=expect, timeout=timeout, settle=settle
        )
        return [decode(dict(r.headers), r.key, r.value) for r in records]

    async def close(self) -> None:
        for service in self.services.values():
            await service.client.aclose()
        for lifespan in reversed(self._exits):
            await lifespan.__aexit__(None, None, None)
        for name in self._databases:
            await drop_database(self.infra.postgres_admin_url, name)
        await delete_topics(self.infra.kafka, [s.name for s in all_specs(self.prefix)])


@pytest.fixture
async def stack(infra: Infra, unique):
    prefix = unique("t") + "."
    await ensure_topics(infra.kafka, all_specs(prefix))
    s = Stack(infra, prefix)
    yield s
    await s.close()


# One key pair per session, never written down: the stack's identity signs with it, the other services
# verify with its public half, and bearer() mints tokens any of them accepts.
TEST_SIGNING_KEY = SigningKey.from_pem(generate_pem())
TEST_PUBLIC_KEY = TEST_SIGNING_KEY.public_pem
# Production's other needs (a scrape token, identity's revocation list), so that a test of one production
# check is refused, or accepted, for that check's own reason.
PROD = {
    "environment": "prod",
    "metrics_token": "m" * 32,
    "jwt_revocations_url": "http://identity:8000/auth/revocations",
}
TEST_TOKENS = TokenConfig(
    "border-return", "border-return", TEST_SIGNING_KEY.private_pem, "EdDSA", key_id=TEST_SIGNING_KEY.kid
)


def bearer(*grants: tuple[str, str], subject: str = "tester", ttl: timedelta = timedelta(minutes=10)) -> dict:
    """Authorization header for a caller holding (role, scope) grants."""
    token = issue_token(TEST_TOKENS, subject, [Grant(role=r, scope=s) for r, s in grants], ttl)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def browser():
    """Debian's headless Chromium driven by Playwright."""
    from tests.web import CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM

    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium is not installed")
    playwright = pytest.importorskip("playwright.async_api")
    async with playwright.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()
