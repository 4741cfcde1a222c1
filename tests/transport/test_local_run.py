"""The local run keeps transport on SQLite: the migrations and the whole path of a transfer hold there too."""

from datetime import timedelta
from types import SimpleNamespace

from services.transport import handlers, queries
from services.transport.demo import MIGRATIONS, seed_demo
from services.transport.settings import Settings
from shared.clock import Clock
from shared.db import make_engine, make_sessionmaker
from shared.migrations import upgrade
from tests.transport.conftest import PREY_VENG, completed, registered


async def test_a_transfer_goes_all_the_way_on_sqlite(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/transport.db"
    upgrade(MIGRATIONS, url)
    assert await seed_demo(Settings(database_url=url)) == 21
    engine = make_engine(url)
    rt = SimpleNamespace(sessions=make_sessionmaker(engine), clock=Clock(), source="/border/transport")
    people = [registered(PREY_VENG) for _ in range(3)]
    try:
        async with rt.sessions.begin() as session:
            for person in people:
                await handlers.record_registration(session, event=person, now=rt.clock.now())
                await handlers.record_quarantine_completed(
                    session, event=completed(person), now=rt.clock.now()
                )
        rt.clock.advance(timedelta(hours=2))
        proposed = await handlers.propose_manifests(rt, origin_province="01", max_wait=timedelta(hours=1))
        [view] = proposed.manifests
        await handlers.confirm_manifest(rt, manifest_id=view.manifest.id, scope=None)
        view = await handlers.dispatch_manifest(rt, manifest_id=view.manifest.id, duration=None, scope=None)
        rt.clock.advance(view.manifest.expected_arrival - view.manifest.dispatched_at)

        overview = await queries.overview(rt, scope={"14"})
        assert [m.manifest.id for m in overview.manifests] == [view.manifest.id]
        assert overview.manifests[0].manifest.expected_arrival <= overview.now
        for person in people:
            view = await handlers.record_arrival(
                rt, manifest_id=view.manifest.id, returnee_id=person.returnee_id, present=True, scope={"14"}
            )
        assert view.manifest.status == "closed"
    finally:
        await engine.dispose()
