"""An alert for a place nobody is listed for is held, shown and counted, and goes once a contact is added."""

from fastapi import FastAPI, Request, Response

from services.notify import main, metrics
from tests.conftest import bearer
from tests.notify.conftest import (
    ADMIN,
    dispatched,
    free_port,
    phone,
    registered,
    serving,
    start_notify,
    villages,
)
from tests.notify.test_webhooks import GATEWAY, FakeKannel


class Receiver:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.bodies: list[bytes] = []
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            self.bodies.append(await request.body())
            return Response(status_code=204)


def held_count() -> float:
    return metrics.DELIVERIES.labels("sms", "no_contact")._value.get()


async def test_an_alert_without_contact_is_held_shown_counted_and_sent_when_a_contact_comes(stack) -> None:
    kannel, hook = FakeKannel(), Receiver()
    notify = await start_notify(stack, kannel_sendsms_url=kannel.url, **GATEWAY)
    async with serving(kannel.app, kannel.port), serving(hook.app, hook.port):
        village, commune = villages(2)
        person = registered(village.code, name_latin="Keo Sophea")
        await notify.publish(person, dispatched(person))
        [held] = await notify.wait_state("no_contact", returnee_id=person.returnee_id)
        assert held.channel == "sms" and kannel.to == []

        # Shown to the district and the province it belongs to, and to no one else.
        district, province = commune.code[:4], commune.code[:2]
        for grant in (("district_officer", district), ("provincial_wg", province), ("national_admin", "KH")):
            r = await notify.client.get("/alerts/no-contact", headers=bearer(grant))
            assert r.status_code == 200, r.text
            [alert] = r.json()
            assert alert["id"] == str(held.id) and alert["commune_code"] == commune.code
            assert alert["recipient_area"] == commune.code
            assert "Keo Sophea" not in r.text
        for grant in (("district_officer", "0201"), ("provincial_wg", "02")):
            r = await notify.client.get("/alerts/no-contact", headers=bearer(grant))
            assert r.status_code == 200 and r.json() == []
        r = await notify.client.get("/alerts/no-contact", headers=bearer(("commune_chief", commune.code)))
        assert r.status_code == 403
        r = await notify.client.get("/alerts/no-contact", params={"limit": 0}, headers=ADMIN)
        assert r.status_code == 422

        # Counted, with no label but the channel and the state.
        await main.refresh_deliveries(notify.rt.deps)
        assert held_count() == 1

        chief = phone()
        await notify.contact(commune.code, phone_number=chief, webhook_url=hook.url)
        [sms] = await notify.wait_state("sent", returnee_id=person.returnee_id, channel="sms")
        assert sms.id == held.id and kannel.to == [chief]
        await notify.wait_state("delivered", returnee_id=person.returnee_id, channel="webhook")
        assert len(hook.bodies) == 1 and str(person.returnee_id).encode() in hook.bodies[0]
        await main.refresh_deliveries(notify.rt.deps)
        assert held_count() == 0
        assert (await notify.client.get("/alerts/no-contact", headers=ADMIN)).json() == []


async def test_an_alert_whose_contact_was_removed_before_it_went_is_held_again(stack) -> None:
    notify = await start_notify(stack, delivery_poll_seconds=3600)
    await notify.stop_worker()
    village, commune = villages(3)
    await notify.contact(commune.code, phone_number=phone())
    person = registered(village.code)
    await notify.publish(person, dispatched(person))
    [row] = await notify.wait_state("queued", returnee_id=person.returnee_id)
    r = await notify.client.delete(f"/contacts/{commune.code}", headers=ADMIN)
    assert r.status_code == 204
    assert await notify.worker.claim() == []
    [row] = await notify.deliveries(returnee_id=person.returnee_id)
    assert row.state == "no_contact"
    await notify.contact(commune.code, phone_number=phone())
    [job] = await notify.worker.claim()
    assert job.id == row.id
