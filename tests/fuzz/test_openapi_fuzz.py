"""Fuzzing every service's HTTP API from its own OpenAPI document with schemathesis.

All six services run in-process on the real broker and database, with a few returnees, a facility, a
vehicle, a manifest and a contact put in through their APIs, so that fuzzed requests reach real records
too. Each service is served over loopback by uvicorn in the test's event loop; schemathesis, which is
synchronous, runs in a worker thread. It sends valid and invalid requests with a token that reaches the
routes; every answer must be free of server errors, carry a documented status and match its schema.
"""

import asyncio
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.contracts.topics import all_specs
from shared.messaging.admin import ensure_topics
from tests.conftest import Stack, bearer
from tests.factories import registration
from tests.waiting import wait_until

pytestmark = [
    # Raised inside schemathesis' own strategies, not by anything of ours.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]

# Examples per operation: bounded, and derandomized below, so a run takes the same few minutes each time.
# FUZZ_SCALE=10 multiplies them for a deeper search by hand; what it finds belongs in a fix, not a skip.
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
SEED = os.environ.get("FUZZ_SEED")  # another set of cases than the fixed one, e.g. FUZZ_SEED=$RANDOM
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
SERVICES = ["identity", "intake", "quarantine", "transport", "notify", "dashboard"]

POIPET, STUNG_BOT = "KH-TH-01", "KH-TH-02"  # both in Banteay Meanchey (01)
# The national administrator reaches most routes; registering and correcting need a checkpoint officer.
GRANTS = (("national_admin", "KH"), ("checkpoint_officer", POIPET), ("checkpoint_officer", STUNG_BOT))
FACILITY, COMMUNE = "FUZZ-BMC", "140101"
# A field user of Banteay Meanchey (01) holding several roles: the scope filters in the SQL and the 404s
# of records outside them are fuzzed too (fewer cases: the national run covers the validation already).
FIELD_GRANTS = (
    ("checkpoint_officer", POIPET),
    ("facility_staff", FACILITY),
    ("transport_officer", "01"),
    ("provincial_wg", "01"),
    ("commune_chief", COMMUNE),
)


@dataclass(frozen=True)
class Caller:
    grants: tuple[tuple[str, str], ...]
    examples: dict[GenerationMode, int]  # per operation and generation mode
    on_known_records: int  # per operation whose path names seeded records


CALLERS = {
    "national": Caller(
        GRANTS, {GenerationMode.POSITIVE: 15 * SCALE, GenerationMode.NEGATIVE: 10 * SCALE}, 6 * SCALE
    ),
    "field": Caller(FIELD_GRANTS, {GenerationMode.POSITIVE: 8 * SCALE}, 4 * SCALE),
}
VALID_BODIES = {
    "POST /returnees": lambda: registration(checkpoint_id=POIPET),
    "POST /auth/token": lambda: {"username": "nobody", "password": "wrong"},
}


@asynccontextmanager
async def served(app) -> AsyncIterator[str]:
    """Serve an already started app over loopback in this event loop; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # The stack ran the lifespan already; uvicorn only serves requests.
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_until(lambda: server.started or task.done(), what="uvicorn to listen")
        if task.done():
            task.result()
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _seed(stack: Stack, headers: dict) -> dict[str, str]:
    """Put a few records in through the APIs; returns path parameters that name real records."""
    svc = {name: stack.services[name].client for name in SERVICES}
    facility = {
        "id": FACILITY,
        "province_code": "01",
        "name_en": "Fuzz site",
        "name_km": "មណ្ឌល",
        "capacity": 40,
    }
    assert (await svc["quarantine"].post("/facilities", json=facility, headers=headers)).status_code == 201
    contact = {"name": "Chief", "phone": "012345678", "language": "km"}
    assert (await svc["notify"].put(f"/contacts/{COMMUNE}", json=contact, headers=headers)).status_code == 200
    vehicle = {
        "plate": "1A-1234",
        "seats": 20,
        "driver": "Dara",
        "escort": "Vanna",
        "origin_province_code": "01",
    }
    assert (await svc["transport"].post("/vehicles", json=vehicle, headers=headers)).status_code == 201
    before = (await svc["dashboard"].get("/stats/summary", headers=headers)).json()

    border, home = registration(checkpoint_id=POIPET), registration(checkpoint_id=STUNG_BOT)
    for body in (border, home):
        assert (await svc["intake"].post("/returnees", json=body, headers=headers)).status_code == 201

    async def found(client, path):
        r = await client.get(path, headers=headers)
        return r.json() if r.status_code == 200 else None

    episode = await wait_until(
        lambda: found(svc["quarantine"], f"/returnees/{border['id']}/episode"), what="episode"
    )
    await wait_until(lambda: found(svc["transport"], f"/transfers/{home['id']}"), what="transfer")
    proposed = await svc["transport"].post(
        "/manifests/propose", json={"origin_province_code": "01"}, headers=headers
    )
    assert proposed.status_code == 201 and proposed.json()["manifests"], proposed.text

    async def dashboard_moved():
        return (await svc["dashboard"].get("/stats/summary", headers=headers)).json() != before

    await wait_until(dashboard_moved, what="the dashboard to count the registrations")
    return {
        "returnee_id": home["id"],
        "episode_id": episode["id"],
        "facility_id": FACILITY,
        "item": "food",
        "manifest_id": proposed.json()["manifests"][0]["id"],
        "area_code": COMMUNE,
        "code": "01",
    }


@pytest.fixture(scope="module")
async def seeded(infra):
    """Every service on one stack of their own, with a few records; (stack, known path parameters)."""
    stack = Stack(infra, f"t_fuzz_{uuid.uuid4().hex[:8]}.")
    await ensure_topics(infra.kafka, all_specs(stack.prefix))
    try:
        for name in SERVICES:
            overrides = {}
            if name == "intake":  # Stung Bot sends returnees straight home, so transport has someone waiting
                overrides = {"policy_rules": [{"checkpoint_id": STUNG_BOT, "policy": "home"}]}
            if name == "notify":  # nothing fuzzed may reach the shared Kannel, whose counts other tests check
                overrides = {"kannel_sendsms_url": "http://127.0.0.1:9/cgi-bin/sendsms"}
            await stack.start(name, **overrides)
        yield stack, await _seed(stack, bearer(*GRANTS))
    finally:
        await stack.close()


def _path_parameters(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def _strategies(operation, known: dict[str, str], caller: Caller):
    """(label, strategy, examples): valid and invalid requests, and valid ones on the seeded records."""
    for mode, examples in caller.examples.items():
        yield mode.value, operation.as_strategy(generation_mode=mode), examples
    names = _path_parameters(operation.path)
    if names and all(n in known for n in names):
        fixed = {n: known[n] for n in names}
        yield "known records", operation.as_strategy(path_parameters=fixed), caller.on_known_records
    if operation.label in VALID_BODIES:
        # A body the fuzzer cannot make up (a Khmer name, a village of the gazetteer, a user): so the answer
        # to a valid request is checked against its schema too.
        body = VALID_BODIES[operation.label]()
        yield "valid body", operation.as_strategy(body=body), caller.on_known_records


def _run(strategy, examples: int, headers: dict, statuses: set[int]) -> None:
    @seed(int(SEED or 0))
    @given(case=strategy)
    @settings(
        max_examples=examples,
        derandomize=SEED is None,  # the same cases on every run, so CI is repeatable
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def check(case) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses.add(response.status_code)

    check()


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    statuses: dict[str, set[int]] = field(default_factory=dict)  # operation -> statuses it answered

    def reached(self) -> list[str]:
        """Operations that answered a fuzzed request with success at least once."""
        return [op for op, codes in self.statuses.items() if any(200 <= c < 300 for c in codes)]


def fuzz(base_url: str, caller: Caller, known: dict[str, str]) -> Report:
    """Run every operation of the service's schema; one failure per failing operation and strategy."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    headers = bearer(*caller.grants, ttl=timedelta(minutes=30))
    report = Report()
    for result in schema.get_all_operations():
        operation = result.ok()
        statuses = report.statuses.setdefault(operation.label, set())
        for label, strategy, examples in _strategies(operation, known, caller):
            try:
                _run(strategy, examples, headers, statuses)
            except Unsatisfiable:
                continue  # an operation without parameters or body has no invalid request to make
            except (Exception, FailureGroup) as exc:  # a group of check failures is a BaseExceptionGroup
                report.failures.append(f"{operation.label} [{label}]: {exc}")
    return report


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("name", SERVICES)
async def test_no_server_error_and_every_answer_as_documented(seeded, name, caller):
    stack, known = seeded
    async with served(stack.services[name].app) as base_url:
        report = await asyncio.to_thread(fuzz, base_url, CALLERS[caller], known)
    failures = report.failures
    assert not failures, f"{len(failures)} failing operations of {name}:\n\n" + "\n\n".join(failures)
    # A fuzz that only ever met 401 or 404 would prove nothing: most operations must have served a request
    # (of the national caller; the field user is refused much by design).
    if caller == "national":
        assert len(report.reached()) * 2 >= len(report.statuses), report.statuses


HUGE = str(10**20)  # beyond PostgreSQL's bigint
NUL = "a\x00b"
# What the fuzzer found (server errors and undocumented answers), replayed as plain requests so each fix
# stays proven whatever cases a later version of the fuzzer draws: (service, method, path, kwargs, field).
FINDINGS = [
    ("intake", "GET", "/returnees", {"params": {"offset": HUGE}}, "offset"),
    ("intake", "GET", "/returnees", {"params": {"q": NUL}}, "q"),
    (
        "intake",
        "POST",
        "/returnees",
        {"json": registration(checkpoint_id=POIPET, worked_in=NUL)},
        "worked_in",
    ),
    (
        "intake",
        "POST",
        "/returnees",
        {"json": registration(checkpoint_id=POIPET, name_km="សុខ\x00")},
        "name_km",
    ),
    ("quarantine", "GET", "/episodes", {"params": {"offset": HUGE}}, "offset"),
    (
        "quarantine",
        "POST",
        "/facilities",
        {"json": {"id": "F-NUL", "province_code": "01", "name_en": NUL, "name_km": "ក", "capacity": 5}},
        "name_en",
    ),
    (
        "transport",
        "POST",
        "/vehicles",
        {
            "json": {
                "plate": "2B-2222",
                "seats": 9,
                "driver": NUL,
                "escort": "Vanna",
                "origin_province_code": "01",
            }
        },
        "driver",
    ),
    ("notify", "GET", "/contacts", {"params": {"offset": HUGE}}, "offset"),
    ("notify", "GET", "/followups", {"params": {"offset": HUGE}}, "offset"),
    ("notify", "GET", "/deliveries", {"params": {"offset": HUGE}}, "offset"),
    ("notify", "DELETE", "/contacts/0", {}, "area_code"),
    (
        "notify",
        "PUT",
        f"/contacts/{COMMUNE}",
        {"json": {"name": "Chief", "phone": "012345678", "webhook_url": "https://example.org/\x00"}},
        "webhook_url",
    ),
    ("identity", "POST", "/auth/token", {"data": {"username": NUL, "password": "x"}}, "username"),
    ("dashboard", "GET", "/audit", {"params": {"before": HUGE}}, "before"),
    ("dashboard", "GET", "/audit", {"params": {"subject": NUL}}, "subject"),
    (
        "dashboard",
        "GET",
        "/audit",
        {"params": {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}},
        "since",
    ),
    ("dashboard", "GET", "/stats/arrivals", {"params": {"until": "0001-01-01"}}, "until"),
    ("dashboard", "GET", "/reports/daily.csv", {"params": {"since": "9999-12-31"}}, "since"),
    ("dashboard", "GET", "/audit", {"params": {"since": "0001-01-01T00:00:00+07:00"}}, "since"),
]


@pytest.mark.parametrize(("name", "method", "path", "kwargs", "field_name"), FINDINGS)
async def test_each_finding_is_a_422_naming_the_field(seeded, name, method, path, kwargs, field_name):
    stack, _ = seeded
    client = stack.services[name].client
    r = await client.request(method, path, headers=bearer(*GRANTS), **kwargs)
    assert r.status_code == 422, (r.status_code, r.text)
    assert field_name in [entry["loc"][-1] for entry in r.json()["detail"]], r.text
