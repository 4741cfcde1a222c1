"""The role half of the authorisation matrix, generated from the routes themselves.

For every route of every service that requires roles: no token and a bad token get 401, and a valid
token of every role the route does not name gets 403, before the route looks anything up (so a caller
without the role cannot even learn whether an id exists). Scope, the other half, needs each service's
own objects and is tested with them.
"""

import re

import pytest
from fastapi.routing import iter_route_contexts

from shared.web.auth import Role
from tests.conftest import bearer
from tests.waiting import wait_until

SERVICES = ["intake", "quarantine", "transport", "notify", "dashboard", "identity"]
# A scope of the right kind for each role, from the demo users.
SCOPE = {
    Role.checkpoint_officer: "KH-TH-01",
    Role.facility_staff: "QF-01-1",
    Role.transport_officer: "01",
    Role.commune_chief: "140101",
    Role.district_officer: "1401",
    Role.provincial_wg: "14",
    Role.national_admin: "KH",
}
SOME_ID = "00000000-0000-4000-8000-000000000000"  # fits a uuid or a code parameter
FORGED = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"}


def _rules(dependant) -> list[frozenset[Role]]:
    """Every `require(...)` in the route's dependency tree; a caller must pass all of them."""
    found = []
    for dep in dependant.dependencies:
        if roles := getattr(dep.call, "roles", None):
            found.append(frozenset(roles))
        found += _rules(dep)
    return found


def role_rules(app) -> list[tuple[str, str, frozenset[Role]]]:
    """(method, concrete path, roles allowed) for every route that requires roles."""
    rules = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None or not (found := _rules(dependant)):
            continue
        allowed = frozenset.intersection(*found)
        path = re.sub(r"\{[^}]+\}", SOME_ID, route.path)
        rules += [(method, path, allowed) for method in sorted(route.methods or ()) if method != "HEAD"]
    return rules


@pytest.mark.parametrize("name", SERVICES)
async def test_every_route_refuses_missing_bad_and_wrong_role_tokens(stack, name):
    service = await stack.start(name)
    await wait_until(lambda: service.runtime.engine.pool.checkedin() >= 1, what="the relay's connection")
    rules = role_rules(service.app)
    wrong = []
    for method, path, allowed in rules:
        cases = [("no token", {}, 401), ("forged token", FORGED, 401)]
        cases += [
            (role.value, bearer((role.value, SCOPE[role])), 403) for role in Role if role not in allowed
        ]
        for label, headers, expected in cases:
            r = await service.client.request(method, path, headers=headers)
            if r.status_code != expected:
                wrong.append(f"{method} {path} with {label}: {r.status_code}, expected {expected}")
    assert rules, f"{name} has no route that requires a role"
    assert not wrong, f"{name}: " + "; ".join(wrong[:20])
