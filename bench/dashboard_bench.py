"""Dashboard API latency over a large read model, and the read model's catch-up rate from the topics.

usage: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 \
       TEST_POSTGRES_URL=postgresql+psycopg://border:border@127.0.0.1:5432/postgres \
       .venv/bin/python bench/dashboard_bench.py [--rows 1000000] [--returnees 1500] [--consumers 1 3]

Phase 1 generates `--rows` returnees straight into a fresh read-model database (one INSERT ... SELECT over
generate_series), then times the dashboard's endpoints. Phase 2 publishes the events of `--returnees`
returnees to fresh topics and times a consumer of the dashboard's subscription reading them from the start
into another fresh database. Writes docs/benchmarks/dashboard.md. Bounded: about 2-3 minutes.
"""

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.dashboard import main as dashboard_main  # noqa: E402
from services.dashboard.consumer import handlers  # noqa: E402
from services.dashboard.models import ReturneeState  # noqa: E402
from services.dashboard.settings import Settings  # noqa: E402
from services.identity.keys import SigningKey, generate_pem  # noqa: E402
from shared.clock import CAMBODIA  # noqa: E402
from shared.contracts.intake import ReturneeRegistered, Screening  # noqa: E402
from shared.contracts.quarantine import QuarantineCompleted, QuarantineStarted  # noqa: E402
from shared.contracts.topics import TOPICS, all_specs  # noqa: E402
from shared.contracts.transport import HandedOver, ManifestDispatched, Passenger  # noqa: E402
from shared.db import make_engine  # noqa: E402
from shared.geo.gazetteer import load_gazetteer  # noqa: E402
from shared.messaging.admin import ensure_topics  # noqa: E402
from shared.messaging.codec import encode  # noqa: E402
from shared.messaging.consumer import EventConsumer, Subscription  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.unit_of_work import Deps  # noqa: E402
from shared.web.auth import Grant, issue_token  # noqa: E402

REPORT = ROOT / "docs" / "benchmarks" / "dashboard.md"
DAYS = 120  # arrivals spread over the last 120 days

# One statement: every returnee gets a village (spread over the gazetteer), a checkpoint, sex, age group,
# special care, and the steps a returnee of that age of arrival would have reached by today.
GENERATE = """
INSERT INTO returnee_state (
  returnee_id, village_code, commune_code, district_code, province_code, registered, checkpoint_id,
  arrived_at, arrival_day, sex, age_group, policy, screened, care_child, care_infant, care_pregnant,
  care_ill, care_elderly, care_disability, referred_on, referral_cleared, waiting_since, quarantine_mode,
  facility_id, quarantine_on, released_on, manifest_id, destination_province_code, transported_on,
  expected_arrival, handed_over_on, missing_on, alerted_on, visited_on, overdue_on, completed_on, status,
  last_event_at)
SELECT gen_random_uuid(), v.code, left(v.code, 6), left(v.code, 4), left(v.code, 2), true,
  (%(checkpoints)s::text[])[1 + g %% 16], s.day + time '09:00', s.day,
  (array['F','M','M','F','X'])[1 + g %% 5], (array['0-4','5-17','18-59','18-59','18-59','60+'])[1 + g %% 6],
  'border', true, g %% 11 = 0, g %% 29 = 0, g %% 37 = 0, g %% 41 = 0, g %% 13 = 0, g %% 53 = 0,
  CASE WHEN g %% 50 = 0 THEN s.day END, g %% 50 = 0, NULL, 'border',
  'F-' || lpad((g %% 40)::text, 2, '0'), s.day, s.rel,
  CASE WHEN s.rel IS NOT NULL THEN md5((g / 30)::text)::uuid END,
  CASE WHEN s.rel IS NOT NULL THEN left(v.code, 2) END,
  s.rel, s.rel + time '15:00', s.hand, NULL, s.hand,
  CASE WHEN g %% 7 <> 0 AND s.hand + 2 <= %(today)s THEN s.hand + 2 END,
  CASE WHEN g %% 7 = 0 AND s.hand + 3 <= %(today)s THEN s.hand + 3 END,
  CASE WHEN s.hand + 14 <= %(today)s THEN s.hand + 14 END,
  CASE WHEN s.hand IS NOT NULL THEN 'handed_over' WHEN s.rel IS NOT NULL THEN 'in_transit'
       ELSE 'in_quarantine' END,
  now()
FROM generate_series(1, %(rows)s) g
CROSS JOIN LATERAL (
  SELECT d.day,
         CASE WHEN d.day + 14 <= %(today)s THEN d.day + 14 END AS rel,
         CASE WHEN d.day + 15 <= %(today)s THEN d.day + 15 END AS hand
  FROM (SELECT %(today)s::date - (g %% %(days)s)::int AS day) d
) s
JOIN bench_village v ON v.idx = 1 + (g::bigint * 7919) %% %(villages)s
"""


def admin_conninfo() -> str:
    return os.environ["TEST_POSTGRES_URL"].replace("postgresql+psycopg://", "postgresql://")


def create_db(name: str) -> str:
    with psycopg.connect(admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return os.environ["TEST_POSTGRES_URL"].rsplit("/", 1)[0] + "/" + name


def drop_db(name: str) -> None:
    with psycopg.connect(admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def generate(url: str, rows: int) -> float:
    """Fill the read model with `rows` returnees; returns the seconds it took (insert + analyze)."""
    started = time.monotonic()
    gaz = load_gazetteer()
    villages = [
        v.code
        for p in gaz.provinces()
        for d in gaz.districts_of(p.code)
        for c in gaz.communes_of(d.code)
        for v in gaz.villages_of(c.code)
    ]
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE UNLOGGED TABLE bench_village (idx int PRIMARY KEY, code text)")
        with conn.cursor().copy("COPY bench_village (idx, code) FROM STDIN") as copy:
            for i, code in enumerate(villages, start=1):
                copy.write_row((i, code))
        params = {
            "checkpoints": [c.id for c in gaz.checkpoints()],
            "today": datetime.now(CAMBODIA).date(),
            "rows": rows,
            "days": DAYS,
            "villages": len(villages),
        }
        conn.execute(GENERATE, params)
        conn.execute("DROP TABLE bench_village")
        conn.execute("VACUUM ANALYZE returnee_state")
    return time.monotonic() - started


BENCH_KEY = SigningKey.from_pem(generate_pem())  # the bench's own issuer key, for this run only


def token(role: str, scope: str) -> dict:
    from shared.web.auth import TokenConfig

    config = TokenConfig("border-return", "border-return", BENCH_KEY.private_pem, key_id=BENCH_KEY.kid)
    jwt = issue_token(config, "bench", [Grant(role=role, scope=scope)], timedelta(hours=1))
    return {"Authorization": f"Bearer {jwt}"}


async def time_endpoints(
    url: str, prefix: str, reps: int, budget: float
) -> list[tuple[str, str, float, float, int]]:
    settings = Settings(
        database_url=url,
        topic_prefix=prefix,
        consumer_enabled=False,
        environment="test",
        jwt_key=BENCH_KEY.public_pem,
    )
    app = dashboard_main.create_app(settings)
    today = datetime.now(CAMBODIA).date()
    week = {"since": str(today - timedelta(days=6)), "until": str(today)}
    nation, province = token("national_admin", "KH"), token("provincial_wg", "01")
    cases = [
        ("national", "/stats/summary", {}, nation),
        ("province 01", "/stats/summary", {"area": "01"}, province),
        ("national", "/stats/areas", {}, nation),
        ("province 01", "/stats/areas", {"area": "01"}, province),
        ("national", "/stats/arrivals", {}, nation),
        ("national, 7 days", "/reports/daily", week, nation),
        ("province 01, 7 days", "/reports/daily.csv", week | {"area": "01"}, province),
        ("national", "/stats/checkpoints", {}, nation),
    ]
    results = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
            for who, path, params, headers in cases:
                (await client.get(path, params=params, headers=headers)).raise_for_status()  # warm-up
                samples = []
                deadline = time.monotonic() + budget
                while len(samples) < reps and (len(samples) < 3 or time.monotonic() < deadline):
                    t0 = time.perf_counter()
                    (await client.get(path, params=params, headers=headers)).raise_for_status()
                    samples.append((time.perf_counter() - t0) * 1000)
                samples.sort()
                p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
                results.append((path, who, statistics.median(samples), p95, len(samples)))
                print(f"  {path} ({who}): p50 {results[-1][2]:.0f} ms, p95 {p95:.0f} ms, n={len(samples)}")
    return results


def events_of(n: int) -> list:
    """The events of `n` returnees: registered, quarantined, released, taken home in vans of 20."""
    now = datetime.now(UTC)
    today = now.astimezone(CAMBODIA).date()
    gaz = load_gazetteer()
    villages = [v.code for c in gaz.communes_of("0201") for v in gaz.villages_of(c.code)] or ["02010101"]
    events, van = [], []
    for i in range(n):
        rid, ep, village = uuid.uuid4(), uuid.uuid4(), villages[i % len(villages)]
        events += [
            ReturneeRegistered(
                returnee_id=rid,
                checkpoint_id="KH-TH-01",
                arrived_at=now - timedelta(days=15),
                home_village_code=village,
                name_km="សុខ",
                name_latin="Sok",
                sex="F" if i % 2 else "M",
                age_years=20 + i % 40,
                screening=Screening(temperature_c=36.6),
                policy="border",
            ),
            QuarantineStarted(
                returnee_id=rid,
                episode_id=ep,
                home_village_code=village,
                mode="border",
                facility_id="F-01",
                starts_on=today - timedelta(days=15),
                ends_on=today - timedelta(days=1),
            ),
            QuarantineCompleted(
                returnee_id=rid,
                episode_id=ep,
                home_village_code=village,
                mode="border",
                completed_on=today - timedelta(days=1),
            ),
        ]
        van.append(Passenger(returnee_id=rid, home_village_code=village))
        if len(van) == 20 or i == n - 1:
            manifest = uuid.uuid4()
            events.append(
                ManifestDispatched(
                    manifest_id=manifest,
                    destination_province_code="02",
                    vehicle_plate="2A-1",
                    dispatched_at=now - timedelta(hours=5),
                    expected_arrival=now - timedelta(hours=1),
                    passengers=van,
                )
            )
            events += [
                HandedOver(
                    returnee_id=p.returnee_id,
                    manifest_id=manifest,
                    home_village_code=p.home_village_code,
                    handed_over_at=now,
                )
                for p in van
            ]
            van = []
    return events


async def catch_up(url: str, prefix: str, returnees: int, members: int) -> tuple[int, float, float]:
    """Publish the events, then time `members` consumers of a fresh group reading them into an empty model."""
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    await ensure_topics(bootstrap, all_specs(prefix))
    events = events_of(returnees)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, acks="all", enable_idempotence=True
    )
    await producer.start()
    engine = make_engine(url)
    try:
        futures = []
        for event in events:
            message = encode(event, source="/border/bench")
            headers = [(k, v if isinstance(v, bytes) else v.encode()) for k, v in message.headers.items()]
            key = message.key if isinstance(message.key, bytes) else str(message.key).encode()
            futures.append(
                await producer.send(prefix + event.topic, value=message.value, key=key, headers=headers)
            )
        await asyncio.gather(*futures)
        deps = Deps.of(Settings(database_url=url, environment="test"), engine)
        on = {cls: deps.handler(use_case) for cls, use_case in handlers().items()}
        subscription = Subscription(f"bench-{uuid.uuid4().hex[:8]}", on, [prefix + t.name for t in TOPICS])
        sessions = deps.sessions
        consumers = [
            EventConsumer(subscription, bootstrap=bootstrap, sessions=sessions, producer=producer)
            for _ in range(members)
        ]
        started = time.monotonic()
        first = None
        tasks = [asyncio.create_task(c.run()) for c in consumers]
        try:
            while (done := sum(c.processed for c in consumers)) < len(events):
                for task in tasks:
                    if task.done():
                        task.result()
                if first is None and done:
                    first = (time.monotonic(), done)
                await asyncio.sleep(0.05)
            ended = time.monotonic()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        # Every returnee must be there, handed over: an event that went to the dead letters would show here.
        async with sessions() as session:
            stmt = select(func.count()).where(
                ReturneeState.handed_over_on.is_not(None), ReturneeState.registered
            )
            complete = (await session.execute(stmt)).scalar_one()
        if complete != returnees:
            raise SystemExit(f"read model incomplete: {complete} of {returnees} returnees handed over")
    finally:
        await engine.dispose()
        await producer.stop()
    return len(events), ended - started, (len(events) - first[1]) / (ended - first[0])


async def drop_topics(prefixes: list[str]) -> None:
    """Leave the shared broker as we found it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(tuple(prefixes))]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    ram = (
        int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        / 1024
        / 1024
    )
    with psycopg.connect(admin_conninfo()) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    return [
        f"nproc: {os.cpu_count()}",
        f"cpu: {cpu}",
        f"ram: {ram:.1f} GiB",
        f"os: {platform.platform()}",
        f"python: {platform.python_version()}",
        f"postgresql: {pg}",
    ]


def write_report(args, rows_seconds, latencies, catchups) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Dashboard benchmark",
        "",
        f"Run `dashboard_bench.py` on {stamp}. Written by `bench/dashboard_bench.py`; re-run it to refresh.",
        "",
        f"## API latency with {args.rows:,} returnees in the read model",
        "",
        f"The rows were generated straight into PostgreSQL in {rows_seconds:.0f} s (one "
        f"`INSERT ... SELECT` over `generate_series`, spread over every village of the gazetteer, "
        f"16 checkpoints and {DAYS} days of arrivals, with quarantine, transport and follow-up steps), "
        "then `VACUUM ANALYZE`. Each endpoint is called in-process (httpx's ASGI transport: the app, "
        "the SQL and the JSON, no socket), one at a time, after one warm-up call.",
        "",
        "| endpoint | caller | p50 ms | p95 ms | calls |",
        "| --- | --- | ---: | ---: | ---: |",
        *(f"| `{path}` | {who} | {p50:.0f} | {p95:.0f} | {n} |" for path, who, p50, p95, n in latencies),
        "",
        "## Catch-up rate when rebuilt from the topics",
        "",
        f"{args.returnees:,} returnees' events (registered, quarantine started and completed, a manifest "
        "per 20 passengers, handed over) were published to fresh topics; consumers of the dashboard's "
        "subscription in a fresh group then read them from the start into an empty read model "
        "(PostgreSQL), one transaction per event with its inbox row, as in production. "
        "`DASHBOARD_CONSUMERS` sets how many members of the group a dashboard process runs.",
        "",
        "| consumers | events | seconds (group join included) | events per second | per second once joined |",
        "| ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {members} | {events:,} | {seconds:.1f} | {events / seconds:,.0f} | {steady:,.0f} |"
            for members, events, seconds, steady in catchups
        ),
        "",
        "The machine is shared with other work (other engineers' test runs), so take the figures as an "
        "order of magnitude.",
        "",
        "## Machine",
        "",
        *(f"- {line}" for line in machine()),
        "",
    ]
    REPORT.write_text("\n".join(lines), encoding="utf-8")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--returnees", type=int, default=1500)
    parser.add_argument("--consumers", type=int, nargs="+", default=[1, 3], help="group sizes to time")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument(
        "--budget", type=float, default=8.0, help="seconds per endpoint at most (after 3 calls)"
    )
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    api_db, replay_db = f"bench_dash_api_{tag}", f"bench_dash_replay_{tag}"
    try:
        url = create_db(api_db)
        upgrade(dashboard_main.MIGRATIONS, url)
        print(f"generating {args.rows:,} returnees ...")
        rows_seconds = await asyncio.to_thread(generate, url, args.rows)
        print(f"  done in {rows_seconds:.0f} s; timing the API")
        latencies = await time_endpoints(url, f"bench{tag}.", args.reps, args.budget)
        catchups = []
        for members in args.consumers:
            replay_url = create_db(f"{replay_db}_{members}")
            upgrade(dashboard_main.MIGRATIONS, replay_url)
            print(f"catch-up from the topics ({args.returnees:,} returnees, {members} consumers) ...")
            events, seconds, steady = await catch_up(
                replay_url, f"bench{tag}c{members}.", args.returnees, members
            )
            print(f"  {events:,} events in {seconds:.1f} s: {events / seconds:,.0f}/s ({steady:,.0f} joined)")
            catchups.append((members, events, seconds, steady))
        write_report(args, rows_seconds, latencies, catchups)
        print(f"written to {REPORT.relative_to(ROOT)}")
    finally:
        await drop_topics([f"bench{tag}c{members}." for members in args.consumers])
        drop_db(api_db)
        for members in args.consumers:
            drop_db(f"{replay_db}_{members}")


if __name__ == "__main__":
    asyncio.run(main())
