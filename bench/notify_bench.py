"""Alerts per second through Kannel, with and without delivery reports, next to Kannel's raw sendsms rate.

usage: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 \
       TEST_POSTGRES_URL=postgresql+psycopg://border:border@127.0.0.1:5432/postgres \
       .venv/bin/python bench/notify_bench.py [--alerts 400] [--concurrency 10]

Needs Kannel running (`bash deploy/kannel.sh start`). Three figures from one run:
  raw       sendsms requests straight to smsbox, `concurrency` at a time (the ceiling);
  no-DLR    queued alerts until each is `sent` (claim, render, sendsms, record + AlertSent in the outbox);
  DLR       the same until each is `delivered` by Kannel's report to our /kannel/dlr.
Each notify run gets a fresh PostgreSQL database; the service runs under uvicorn as in production.
Results go to docs/benchmarks/notify.md. Bounded: every phase stops after --timeout seconds.
"""

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.notify import main as notify_main  # noqa: E402
from services.notify.handlers import alert_dispatched, save_contact  # noqa: E402
from services.notify.models import ContactIn, Delivery, Returnee  # noqa: E402
from services.notify.settings import Settings  # noqa: E402
from shared.contracts.topics import all_specs  # noqa: E402
from shared.geo.gazetteer import load_gazetteer  # noqa: E402
from shared.messaging.admin import ensure_topics  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

SENDSMS = "http://127.0.0.1:13013/cgi-bin/sendsms"
PREFIX = "bench.notify."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def raw_rate(n: int, concurrency: int, settings: Settings) -> float:
    """sendsms requests per second accepted by smsbox, without notify."""
    limit = asyncio.Semaphore(concurrency)
    text_km = "សាកល្បង ល្បឿន Kannel"
    async with httpx.AsyncClient(timeout=30) as client:

        async def one(i: int) -> None:
            params = {
                "username": settings.kannel_send_user,
                "password": settings.kannel_send_password,
                "from": settings.sms_sender,
                "to": f"8559{i:07d}",
                "text": text_km,
                "charset": "UTF-8",
                "coding": "2",
            }
            async with limit:
                r = await client.get(SENDSMS, params=params)
                r.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)


async def _database(admin_url: str) -> tuple[str, str]:
    name = f"bench_notify_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return name, f"{admin_url.rpartition('/')[0]}/{name}"


async def _drop(admin_url: str, name: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


async def _seed(uow, *, n: int) -> list[tuple[uuid.UUID, str]]:
    """n returnees from n communes, each commune with its chief: (returnee id, village code)."""
    gaz = load_gazetteer()
    communes = [c for p in gaz.provinces() for d in gaz.districts_of(p.code) for c in gaz.communes_of(d.code)]
    people = []
    for i in range(n):
        commune = communes[i % len(communes)]
        village = gaz.villages_of(commune.code)[0]
        chief = ContactIn(name="Chief", phone=f"+8551299{i:05d}", language="km")
        await save_contact(uow, area_code=commune.code, data=chief)
        returnee = Returnee(
            id=uuid.uuid4(),
            name_km="សុខ ដារ៉ា",
            name_latin="Sok Dara",
            sex="F",
            age_years=30,
            village_code=village.code,
            policy="home",
        )
        uow.session.add(returnee)
        people.append((returnee.id, village.code))
    return people


async def _queue_alerts(uow, *, people: list[tuple[uuid.UUID, str]]) -> None:
    """What the consumer does for a dispatch: one alert per passenger, here all in one transaction."""
    for returnee_id, village_code in people:
        await alert_dispatched(
            uow,
            returnee_id=returnee_id,
            village_code=village_code,
            manifest_id=uuid.uuid4(),
            expected_arrival=uow.now() + timedelta(hours=4),
        )


async def notify_rate(n: int, *, dlr: bool, concurrency: int, admin_url: str, timeout: float) -> float:
    """Alerts per second from one committed batch to every row `sent` (or `delivered` with reports)."""
    name, url = await _database(admin_url)
    port = free_port()
    try:
        await asyncio.to_thread(upgrade, notify_main.MIGRATIONS, url)
        settings = Settings(
            database_url=url,
            public_url=f"http://127.0.0.1:{port}",
            dlr_enabled=dlr,
            delivery_concurrency=concurrency,
            delivery_batch_size=max(50, concurrency * 5),
            delivery_poll_seconds=0.05,
            consumer_enabled=False,
            topic_prefix=PREFIX,
            log_level="WARNING",
        )
        app = notify_main.create_app(settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
        serving = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.05)
        rt = app.state.runtime
        target = "delivered" if dlr else "sent"
        try:
            people = await rt.deps.run(_seed, n=n)
            await rt.deps.run(_queue_alerts, people=people)
            start = time.perf_counter()  # from the commit of the queued alerts
            while True:
                async with rt.sessions() as session:
                    done = await session.scalar(
                        select(func.count()).select_from(Delivery).where(Delivery.state == target)
                    )
                if done >= n:
                    break
                if time.perf_counter() - start > timeout:
                    raise TimeoutError(f"only {done}/{n} alerts {target} after {timeout}s")
                await asyncio.sleep(0.05)
            return n / (time.perf_counter() - start)
        finally:
            server.should_exit = True
            await serving
    finally:
        await _drop(admin_url, name)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    kannel = subprocess.run(
        ["/usr/bin/dpkg-query", "-W", "-f=${Version}", "kannel"], capture_output=True, text=True
    )
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"Kannel {kannel.stdout.strip() or 'unknown'} with fakesmsc, PostgreSQL and Kafka on the same host"
    )


def write_report(rows: list[tuple[str, float]], n: int, concurrency: int) -> Path:
    out = ROOT / "docs" / "benchmarks" / "notify.md"
    lines = [
        "# Notify: alerts per second through Kannel",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/notify_bench.py --alerts {n} "
        f"--concurrency {concurrency}`.",
        "",
        f"Machine: {machine()}.",
        "",
        "| path | per second |",
        "| --- | ---: |",
        *(f"| {label} | {rate:.0f} |" for label, rate in rows),
        "",
        "- *raw sendsms*: HTTP requests straight to smsbox, the gateway's own ceiling here.",
        "- *notify, no delivery reports*: from the commit of a batch of queued alerts to every one `sent` "
        "(claimed, "
        "written in Khmer, accepted by smsbox, recorded with its AlertSent event in the outbox).",
        "- *notify, with delivery reports*: the same until Kannel's report marked each `delivered`.",
        "",
        "The fake SMS centre answers at once; a real operator link is slower (and the gateway then queues), "
        "so these figures bound notify's own overhead rather than what an operator will accept. The host is "
        "shared (2 cores, other test suites running), so runs differ by tens of percent; compare the rows of "
        "one run with each other.",
        "",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per phase at most")
    args = parser.parse_args()
    admin_url = os.environ.get("TEST_POSTGRES_URL")
    if not admin_url:
        sys.exit("TEST_POSTGRES_URL must name a PostgreSQL server where databases can be created")
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = kafka
    await ensure_topics(kafka, all_specs(PREFIX))
    settings = Settings()
    rows = [("raw sendsms (smsbox)", await raw_rate(args.alerts, args.concurrency, settings))]
    for dlr in (False, True):
        rate = await notify_rate(
            args.alerts, dlr=dlr, concurrency=args.concurrency, admin_url=admin_url, timeout=args.timeout
        )
        rows.append((f"notify, {'with' if dlr else 'no'} delivery reports", rate))
    for label, rate in rows:
        print(f"{label:40} {rate:8.0f}/s")
    print(f"written to {write_report(rows, args.alerts, args.concurrency).relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), 115))
