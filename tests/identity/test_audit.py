"""The audit trail: a recorded access is readable by the national administrator, by no one else."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from shared.audit import record_access
from shared.clock import Clock
from shared.unit_of_work import Origin, UnitOfWork
from shared.web.auth import Grant, Principal, Role
from tests.conftest import bearer
from tests.identity.conftest import PASSWORD, add_user, login

ADMIN = bearer(("national_admin", "KH"))
OFFICER = Principal(subject="pwg.preyveng", grants=(Grant(role=Role.provincial_wg, scope="14"),))


# Where an officer's tablet reading a returnee comes from.
TABLET = Origin(route="GET /returnees/{returnee_id}", client_ip="10.14.0.7", user_agent="border-tablet/1.0")


async def test_a_recorded_read_is_visible_to_the_national_admin_only(identity):
    returnee_id = uuid4()
    await identity.runtime.deps.run(
        record_access,
        origin=TABLET,
        principal=OFFICER,
        action="read",
        object_type="returnee",
        object_id=returnee_id,
    )

    r = await identity.client.get("/audit", params={"object_id": str(returnee_id)}, headers=ADMIN)
    refused = await identity.client.get("/audit", headers=bearer(("provincial_wg", "14")))

    assert r.status_code == 200, r.text
    [entry] = r.json()["items"]
    assert entry["subject"] == "pwg.preyveng"
    assert entry["grants"] == ["provincial_wg:14"]
    assert entry["at"].endswith("Z")
    assert (entry["action"], entry["object_type"]) == ("read", "returnee")
    assert (entry["client_ip"], entry["user_agent"]) == ("10.14.0.7", "border-tablet/1.0")
    assert refused.status_code == 403


async def test_an_access_rolled_back_leaves_no_trail(identity):
    returnee_id = uuid4()

    async def failing_update(uow: UnitOfWork) -> None:
        await record_access(
            uow, principal=OFFICER, action="update", object_type="returnee", object_id=returnee_id
        )
        raise RuntimeError("the update failed")

    with pytest.raises(RuntimeError):
        await identity.runtime.deps.run(failing_update)

    r = await identity.client.get("/audit", params={"object_id": str(returnee_id)}, headers=ADMIN)
    assert r.json()["items"] == []


async def test_the_trail_filters_by_subject_and_time_and_pages(identity):
    start = datetime(2026, 3, 27, 8, tzinfo=UTC)
    for i in range(7):
        who = Principal(subject=f"officer-{i % 2}", grants=())
        # A clock stopped at the access's time: the trail takes it from the unit of work.
        stopped = replace(identity.runtime.deps, clock=Clock(speed=0, epoch=start + timedelta(hours=i)))
        await stopped.run(record_access, principal=who, action="read", object_type="returnee", object_id=i)

    by_subject = await identity.client.get("/audit", params={"subject": "officer-1"}, headers=ADMIN)
    window = {"since": "2026-03-27T10:00:00Z", "until": "2026-03-27T13:00:00+00:00"}
    in_window = await identity.client.get("/audit", params=window, headers=ADMIN)
    seen, before = [], None
    while True:
        params = {"limit": 3, "object_type": "returnee"} | ({"before": before} if before else {})
        page = (await identity.client.get("/audit", params=params, headers=ADMIN)).json()
        seen += [item["object_id"] for item in page["items"]]
        before = page["next_before"]
        if before is None:
            break

    assert [i["object_id"] for i in by_subject.json()["items"]] == ["5", "3", "1"]
    assert [i["object_id"] for i in in_window.json()["items"]] == ["4", "3", "2"]
    assert seen == ["6", "5", "4", "3", "2", "1", "0"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-03-28T00:00:00Z", "until": "2026-03-27T00:00:00Z"}, "since"),
    ],
)
async def test_bad_audit_queries_are_refused_naming_the_field(identity, params, field):
    r = await identity.client.get("/audit", params=params, headers=ADMIN)
    assert r.status_code == 422
    assert field in r.text


async def test_a_login_is_audited_without_its_password(identity):
    await add_user(identity, "chenda", ("district_officer", "1401"))
    await login(identity, "chenda", "wrong-password-typed")
    await login(identity, "chenda")

    r = await identity.client.get("/audit", params={"subject": "chenda"}, headers=ADMIN)

    assert [i["action"] for i in r.json()["items"]] == ["login", "login_failed"]
    assert r.json()["items"][0]["route"] == "POST /auth/token"
    assert PASSWORD not in r.text and "wrong-password-typed" not in r.text
