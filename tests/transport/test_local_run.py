"""The local run keeps transport on SQLite: the migrations and the whole path of a transfer hold there too."""

from datetime import timedelta

from services.transport import handlers, queries
from services.transport.demo import MIGRATIONS, seed_demo
from services.transport.settings import Settings
from shared.migrations import upgrade
from shared.unit_of_work import standalone
from tests.transport.conftest import PREY_VENG, completed, registered


async def test_a_transfer_goes_all_the_way_on_sqlite(tmp_path):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/transport.db")
    upgrade(MIGRATIONS, settings.database_url)
    assert await seed_demo(settings) == 21
    people = [registered(PREY_VENG) for _ in range(3)]
    async with standalone(settings) as deps:
        for person in people:
            await deps.run(handlers.on_registered, event=person)
            await deps.run(handlers.on_quarantine_completed, event=completed(person))
        deps.clock.advance(timedelta(hours=2))
        proposed = await deps.run(
            handlers.propose_manifests, origin_province="01", max_wait=timedelta(hours=1)
        )
        [view] = proposed.manifests
        await deps.run(handlers.confirm_manifest, manifest_id=view.manifest.id, scope=None)
        view = await deps.run(
            handlers.dispatch_manifest, manifest_id=view.manifest.id, duration=None, scope=None
        )
        deps.clock.advance(view.manifest.expected_arrival - view.manifest.dispatched_at)

        overview = await deps.run(queries.overview, scope={"14"})
        assert [m.manifest.id for m in overview.manifests] == [view.manifest.id]
        assert overview.manifests[0].manifest.expected_arrival <= overview.now
        for person in people:
            view = await deps.run(
                handlers.record_arrival,
                manifest_id=view.manifest.id,
                returnee_id=person.returnee_id,
                present=True,
                scope={"14"},
            )
        assert view.manifest.status == "closed"
