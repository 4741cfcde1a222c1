"""The embedded local run: migrations, demo seed and a whole episode on SQLite."""

import asyncio
from datetime import timedelta

import httpx

from services.quarantine import demo, handlers
from services.quarantine.main import MIGRATIONS, create_app, release_due
from services.quarantine.settings import Settings
from shared.migrations import upgrade
from tests.conftest import TEST_PUBLIC_KEY
from tests.quarantine.helpers import ADMIN, checkin, registered


async def test_an_episode_runs_on_sqlite_with_the_demo_sites(infra, tmp_path, unique):
    url = f"sqlite+aiosqlite:///{tmp_path / 'quarantine.db'}"
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=infra.kafka,
        topic_prefix=unique("t") + ".",
        consumer_enabled=False,
        scheduler_seconds=3600,
        environment="test",
        jwt_key=TEST_PUBLIC_KEY,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        rt = app.state.runtime
        assert await rt.deps.run(demo.add_sites) == len(demo.SITES)
        assert await rt.deps.run(demo.add_sites) == 0  # idempotent
        event = registered(care=("infant",))
        await rt.deps.run(handlers.open_episode, event=event)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://q")
        async with client:
            found = (await client.get(f"/returnees/{event.returnee_id}/episode", headers=ADMIN)).json()
            assert (found["status"], found["facility_id"]) == ("placed", "QF-01-1")  # Poipet, takes infants
            rt.clock.advance(timedelta(days=14))
            service = type("S", (), {"client": client})
            assert (await checkin(service, found["id"])).status_code == 201
            assert await release_due(rt.deps) == 1
            site = (await client.get("/facilities/QF-01-1", headers=ADMIN)).json()
            assert site["occupancy"] == 0
            low = (await client.get("/facilities/QF-22-2", headers=ADMIN)).json()
            assert low["low_stock"] == ["medicine"]
