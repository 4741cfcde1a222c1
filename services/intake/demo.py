"""Made-up returnees for a demonstration run: plausible names, real villages, a few households and fevers."""

import random
import uuid
from datetime import timedelta

from services.intake import handlers
from services.intake.models import RegistrationIn
from shared.geo.gazetteer import load_gazetteer
from shared.web.auth import Grant, Principal, Role
from shared.web.service import Runtime

# (Khmer, Latin) given names and family names; every combination is fictitious.
FAMILY = [("សុខ", "Sok"), ("ចាន់", "Chan"), ("ម៉ៅ", "Mao"), ("ហេង", "Heng"), ("ស៊ុន", "Sun"), ("កែវ", "Keo")]
GIVEN = [
    ("ចន្ទា", "Chanda", "F"),
    ("ដារា", "Dara", "M"),
    ("ស្រីពៅ", "Sreypov", "F"),
    ("វិចិត្រ", "Vichet", "M"),
    ("សុភា", "Sophea", "F"),
    ("រតនា", "Rathana", "M"),
    ("បុប្ផា", "Bopha", "F"),
    ("សំណាង", "Samnang", "M"),
]
# Home provinces most returnees from Thailand came back to.
HOME_PROVINCES = ["01", "02", "05", "06", "14", "17", "20", "21", "22"]
OPEN_CHECKPOINTS = ["KH-TH-01", "KH-TH-09", "KH-TH-11", "KH-TH-13"]


def _person(rng: random.Random, *, age: int, family: tuple[str, str]) -> dict:
    given_km, given_latin, sex = rng.choice(GIVEN)
    fever = rng.random() < 0.05
    return {
        "name_km": f"{family[0]} {given_km}",
        "name_latin": f"{family[1]} {given_latin}",
        "sex": sex,
        "age_years": age,
        "phone": f"0{rng.choice([10, 12, 15, 16, 17, 70, 77, 92, 97])}{rng.randrange(10**6, 10**7)}",
        "migration_status": rng.choice(["mou_worker", "irregular", "extension_group_2"])
        if age >= 18
        else None,
        "screening": {"temperature_c": 38.1 if fever else round(rng.uniform(36.0, 37.2), 1)},
        "needs": rng.sample(["food", "water", "medicine"], rng.randrange(0, 3)),
        "consent": True,
    }


def demo_requests(rng: random.Random, *, count: int, now) -> list[tuple[str, RegistrationIn]]:
    """About `count` registrations (households count each member), arriving over the last six hours."""
    gaz = load_gazetteer()
    villages = [
        v.code
        for p in HOME_PROVINCES
        for d in gaz.districts_of(p)
        for c in gaz.communes_of(d.code)
        for v in gaz.villages_of(c.code)
    ]
    requests, people = [], 0
    while people < count:
        family = rng.choice(FAMILY)
        head = _person(rng, age=rng.randrange(19, 55), family=family)
        members = [
            {**_person(rng, age=rng.randrange(1, 14), family=family), "id": str(uuid.uuid4())}
            for _ in range(rng.choice([0, 0, 0, 1, 2]))
        ]
        body = head | {
            "id": str(uuid.uuid4()),
            "checkpoint_id": rng.choice(OPEN_CHECKPOINTS),
            "arrived_at": now - timedelta(minutes=rng.randrange(1, 360)),
            "home_village_code": rng.choice(villages),
            "members": members,
        }
        requests.append((body["checkpoint_id"], RegistrationIn.model_validate(body)))
        people += 1 + len(members)
    return requests


async def seed(rt: Runtime, *, count: int, seed: int) -> int:
    """Register demo returnees through the real use case; returns the number of people registered."""
    rng = random.Random(seed)  # noqa: S311 - made-up demo data, repeatable on purpose
    registered = 0
    for checkpoint, request in demo_requests(rng, count=count, now=rt.clock.now()):
        officer = Principal("seed-demo", (Grant(role=Role.checkpoint_officer, scope=checkpoint),))
        record, _created = await rt.deps.run(handlers.register, principal=officer, request=request)
        registered += 1 + len(record.members)
    # Publish everything before the process exits (the relay's row lock keeps this safe beside it).
    while await rt.relay.publish_batch():
        pass
    return registered
