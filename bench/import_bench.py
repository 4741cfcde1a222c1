"""`border-intake import` on PostgreSQL: rows/s into registrations + outbox, the relay's drain to Kafka, and
raw PostgreSQL (COPY, and one INSERT per commit) in the same run.

usage: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 \
       TEST_POSTGRES_URL=postgresql+psycopg://border:border@127.0.0.1:5432/postgres \
       .venv/bin/python bench/import_bench.py [--rows 20000]

Writes docs/benchmarks/import.json and import.md.
"""

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from intake_bench import (  # noqa: E402
    _row,
    _wait_drained,
    bench_raw,
    create_database,
    delete_topics,
    drop_database,
    machine,
)

from services.intake import main as intake_main  # noqa: E402
from services.intake.importing import BATCH, COLUMNS, households, import_households, read_rows  # noqa: E402
from services.intake.models import Registration  # noqa: E402
from services.intake.settings import Settings  # noqa: E402
from shared.contracts.topics import all_specs  # noqa: E402
from shared.geo.gazetteer import load_gazetteer  # noqa: E402
from shared.messaging.admin import ensure_topics  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.unit_of_work import standalone  # noqa: E402

OUT = ROOT / "docs" / "benchmarks"
CHECKPOINT = "KH-TH-01"
FAMILY = ["សុខ", "ចាន់", "ម៉ៅ", "កែវ", "ហេង", "លី", "ពៅ", "អ៊ុំ", "ជា", "ទេព"]
LATIN = ["Sok", "Chan", "Mao", "Keo", "Heng", "Ly", "Pov", "Um", "Chea", "Tep"]
GIVEN = [("ដារ៉ា", "Dara"), ("សុភា", "Sophea"), ("វិចិត្រ", "Vichet"), ("ចន្ទា", "Chanda"), ("ពិសី", "Pisey")]


def write_file(path: Path, rows: int, seed: int = 1007) -> int:
    """A surge's spreadsheet: households of one to four, Prey Veng villages, arrivals yesterday."""
    rng = random.Random(seed)  # noqa: S311 -- a repeatable sample, not a secret
    villages = [
        v.code
        for d in load_gazetteer().districts_of("14")
        for c in load_gazetteer().communes_of(d.code)
        for v in load_gazetteer().villages_of(c.code)
    ]
    arrived = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="minutes")
    households_written = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        i = 0
        while i < rows:
            size = min(rng.choice((1, 1, 2, 3, 4)), rows - i)
            f_i, village = rng.randrange(len(FAMILY)), rng.choice(villages)
            for member in range(size):
                given_km, given_en = rng.choice(GIVEN)
                writer.writerow(
                    {
                        "household": f"H{households_written}" if size > 1 else "",
                        "name_km": f"{FAMILY[f_i]} {given_km}",
                        "name_latin": f"{LATIN[f_i]} {given_en}",
                        "sex": rng.choice("MF"),
                        "age_years": rng.randint(18, 60) if member == 0 else rng.randint(1, 70),
                        "id_doc_type": "national_id",
                        "id_doc_number": f"I{i:09d}",
                        "home_village_code": village,
                        "arrived_at": arrived,
                        "temperature_c": f"{rng.uniform(36.0, 37.2):.1f}",
                        "consent": "yes",
                    }
                )
                i += 1
            households_written += 1
    return households_written


async def bench_import(url: str, kafka: str, prefix: str, source: Path) -> dict:
    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=kafka,
        topic_prefix=prefix,
        environment="test",
        log_level="WARNING",
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    async with standalone(settings) as deps:
        outcome = await import_households(
            deps, households(read_rows(source)), checkpoint_id=CHECKPOINT, officer="bench"
        )
    imported = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert not outcome.rejected, outcome.rejected[:3]
    # The running service's relay publishes what the import left in the outbox.
    app = intake_main.create_app(settings)
    start = time.perf_counter()
    async with app.router.lifespan_context(app):
        await _wait_drained(app.state.runtime, timeout=600)
    drained = time.perf_counter() - start
    again_start = time.perf_counter()
    async with standalone(settings) as deps:
        again = await import_households(
            deps, households(read_rows(source)), checkpoint_id=CHECKPOINT, officer="bench"
        )
    again_seconds = time.perf_counter() - again_start
    return {
        "people": outcome.created,
        "seconds": imported,
        "rate": outcome.created / imported,
        "relay_seconds": drained,
        "relay_rate": outcome.created / drained,
        "reimport_created": again.created,
        "reimport_rate": again.already / again_seconds,
        "peak_rss_growth_mb": (rss_after - rss_before) / 1024,
    }


async def bench_raw_postgres(url: str, rows: int) -> dict:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    columns = [c.name for c in Registration.__table__.columns]
    data = [_row(i, columns) for i in range(rows)]
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        start = time.perf_counter()
        async with (
            conn.cursor() as cur,
            cur.copy(f"COPY registration ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in data:
                await copy.write_row(row)
        await conn.commit()
        copy_seconds = time.perf_counter() - start
        await conn.execute("TRUNCATE registration")
        await conn.commit()
    single = await bench_raw(url, seconds=5, concurrency=1)  # intake_bench's: one INSERT per commit
    return {"copy_rate": rows / copy_seconds, "insert_rate": single["rate"]}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    admin = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://border:border@127.0.0.1:5432/postgres")
    tag = uuid.uuid4().hex[:8]
    prefix = f"bench_{tag}."
    await ensure_topics(kafka, all_specs(prefix))
    names = [f"bench_{tag}_import", f"bench_{tag}_raw"]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "surge.csv"
        household_count = write_file(source, args.rows)
        try:
            urls = [await create_database(admin, n) for n in names]
            for url in urls:
                await asyncio.to_thread(upgrade, intake_main.MIGRATIONS, url)
            result = await bench_import(urls[0], kafka, prefix, source)
            raw = await bench_raw_postgres(urls[1], args.rows)
        finally:
            for n in names:
                await drop_database(admin, n)
            await delete_topics(kafka, [spec.name for spec in all_specs(prefix)])
    report({"rows": args.rows, "households": household_count, **result, **raw, "machine": machine()})


def report(r: dict) -> None:
    copy_ratio, insert_ratio = r["rate"] / r["copy_rate"], r["rate"] / r["insert_rate"]
    rows = [
        (
            f"import (validation, duplicate hints, rows + outbox + audit; {BATCH} households a commit)",
            r["rate"],
        ),
        ("the relay publishing those events to Kafka afterwards", r["relay_rate"]),
        (f"re-import of the same file (all found; created: {r['reimport_created']})", r["reimport_rate"]),
        ("raw `COPY` into the registration table", r["copy_rate"]),
        ("raw `INSERT`, one commit each", r["insert_rate"]),
    ]
    summary = (
        f"import / COPY = {copy_ratio:.3f}; import / single INSERT = {insert_ratio:.2f}; peak memory growth "
        f"while importing {r['rows']} rows: {r['peak_rss_growth_mb']:.0f} MB (the file is streamed)."
    )
    print("\n".join(f"{what}: {rate:.0f} rows/s" for what, rate in rows) + "\n" + summary)
    (OUT / "import.json").write_text(json.dumps(r, indent=2) + "\n")
    m = r["machine"]
    table = "".join(f"| {what} | {rate:.0f} |\n" for what, rate in rows)
    (OUT / "import.md").write_text(
        "# Import benchmark\n\n"
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/import_bench.py --rows {r['rows']}` on "
        f"{m['nproc']} cores ({m['cpu']}, {m['ram']}). A generated surge spreadsheet of {r['rows']} "
        f"people in {r['households']} households (one to four, Prey Veng villages) goes through "
        "`border-intake import`'s code path into a fresh PostgreSQL database; the same run measures "
        "raw PostgreSQL on the same server.\n\n| measure | rows/s |\n| --- | --- |\n"
        + table
        + "\n"
        + summary
        + "\n"
    )


if __name__ == "__main__":
    asyncio.run(main())
