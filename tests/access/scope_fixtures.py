"""The scope half of the authorisation matrix: two areas of objects, and the routes run against both.

Area A lies around Poipet and Prey Veng (checkpoint KH-TH-01, border province 01, home commune 140101);
area B around Daung and Battambang (KH-TH-07, border province 02, home commune 020101), or B' in another
district of Prey Veng for the roles that part them. Each area has one caller per role whose grants cover it
and not the other. `Matrix.run` takes every route of a service that requires roles and calls it, for every
role it allows, with the objects of the caller's own area (a 2xx or a documented state answer) and of the
other area (404, nothing changed, nothing leaked), in both directions.
"""

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.routing import iter_route_contexts

from shared.web.auth import Role
from tests.access.test_role_matrix import _rules
from tests.conftest import bearer

OK = frozenset({200, 201, 202, 204})
ADMIN = bearer(("national_admin", "KH"), subject="matrix-admin")


@dataclass
class Place:
    """The codes of one area."""

    label: str
    checkpoint: str
    border_province: str
    village: str  # a home village; its prefixes give commune, district and province

    @property
    def commune(self) -> str:
        return self.village[:6]

    @property
    def district(self) -> str:
        return self.village[:4]

    @property
    def province(self) -> str:
        return self.village[:2]

    def split_from(self, other: "Place") -> tuple[str, str]:
        """(the smallest area holding both homes, the widest one holding this home and not the other)."""
        common = "KH"
        for length in (2, 4, 6, 8):
            if self.village[:length] != other.village[:length]:
                return common, self.village[:length]
            common = self.village[:length]
        raise ValueError("two areas with the same home village")


PREY_VENG = Place("A (Poipet / Prey Veng)", "KH-TH-01", "01", "14010101")
BATTAMBANG = Place("B (Daung / Battambang)", "KH-TH-07", "02", "02010101")
# The same crossing and province as A, another district (Kamchay Mear, commune Cheach): it parts from A only
# for commune chiefs and district officers, so only they (and the nation) are run against it.
KAMCHAY_MEAR = Place("B' (Poipet / Prey Veng, Kamchay Mear)", "KH-TH-01", "01", "14020101")
LOCAL_ROLES = frozenset({Role.commune_chief, Role.district_officer, Role.national_admin})


@dataclass
class Area:
    """One side of the matrix: its callers, its objects, and the strings that must never leave it."""

    place: Place
    facility: str = ""  # the quarantine site of its callers with the facility_staff role
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> an object of this area
    ids_by_role: dict[Role, dict[str, str]] = field(default_factory=dict)  # where a role sees another one
    markers: set[str] = field(default_factory=set)  # ids, names, phones of this area's objects
    returnees: int = 0  # the ground truth of every count of returnees in this area
    extra: dict[str, Any] = field(default_factory=dict)  # what a service's bodies need (vehicle ids...)

    def scope(self, role: Role) -> list[tuple[str, str]]:
        """The grants of this area's caller with `role`."""
        p = self.place
        return {
            Role.checkpoint_officer: [(role.value, p.checkpoint)],
            # Where no site was seeded (services other than quarantine), one that exists nowhere: an empty
            # scope is refused as a whole token, like any grant that names nothing real.
            Role.facility_staff: [(role.value, self.facility or f"QF-NONE-{p.checkpoint}")],
            # The officers at both ends of the area's trips: the border province's and the home one's.
            Role.transport_officer: sorted({(role.value, p.border_province), (role.value, p.province)}),
            Role.commune_chief: [(role.value, p.commune)],
            Role.district_officer: [(role.value, p.district)],
            # A province's working group follows its border crossings and its people coming home.
            Role.provincial_wg: sorted({(role.value, p.province), (role.value, p.border_province)}),
            Role.national_admin: [(role.value, "KH")],
        }[role]

    def caller(self, role: Role) -> dict:
        return bearer(*self.scope(role), subject=f"matrix-{role.value}-{self.place.checkpoint}")

    def id_for(self, role: Role, param: str) -> str | None:
        return self.ids_by_role.get(role, {}).get(param, self.ids.get(param))


@dataclass
class Mutation:
    """How to exercise a route that changes something, from the area whose object (or place) it gets."""

    body: Callable[[Area], dict | None]
    ok: frozenset[int] = OK  # in scope: a 2xx, or a state answer such as 409 (the manifest left already)
    outside: int = 404  # out of scope: 404, or a create's documented answer for a place not yours
    counted: bool = False  # a success adds one returnee to the caller's area
    prepare: Callable[[Area], Awaitable[None]] | None = None  # runs before each in-scope call
    after: Callable[[Area, Any], Awaitable[None]] | None = None  # and after it, with the response
    ids: Callable[[Area], dict[str, str]] | None = None  # this route's own objects, where not the area's


@dataclass(frozen=True)
class Upload:
    """A multipart body, for a route that takes a file."""

    data: dict
    files: dict


@dataclass
class World:
    """A running service with both areas seeded, and the tables of how to call its routes."""

    service: Any  # tests.conftest.RunningService
    a: Area
    b: Area
    snapshot: Callable[[Area], Awaitable[Any]]  # the national view of an area's objects
    fixed: dict[str, str] = field(default_factory=dict)  # path parameters that name no object
    queries: dict[str, dict] = field(default_factory=dict)  # "GET /path" -> query parameters it needs
    unscoped: dict[str, str] = field(default_factory=dict)  # route -> why any caller may read any value
    mutations: dict[str, Mutation] = field(default_factory=dict)
    counts: dict[str, Callable[[Any], int]] = field(default_factory=dict)  # route -> returnees in its body
    roles: frozenset[Role] = frozenset(Role)  # the roles whose scopes part the two areas


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    allowed: frozenset[Role]
    params: tuple[str, ...]
    query: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def refused(self) -> frozenset[Role]:
        """The roles this route does not take (the nation aside: it would see everything anyway)."""
        return frozenset(Role) - self.allowed - {Role.national_admin}


def _query_params(dependant) -> set[str]:
    found = {p.name for p in dependant.query_params}
    for dep in dependant.dependencies:
        found |= _query_params(dep)
    return found


def scoped_routes(app) -> list[Route]:
    """Every route that requires roles, with the roles it allows (the role matrix's own rule finder)."""
    routes = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None or not (found := _rules(dependant)):
            continue
        allowed = frozenset.intersection(*found)
        params = tuple(re.findall(r"\{(\w+)[^}]*\}", route.path))
        query = frozenset(_query_params(dependant))
        for method in sorted((route.methods or set()) - {"HEAD"}):
            routes.append(Route(method, route.path, allowed, params, query))
    return routes


def unclassified(world: World, routes: list[Route]) -> list[str]:
    """Routes the matrix does not know how to exercise: a new endpoint must be added to a table."""
    missing = []
    for r in routes:
        if r.method != "GET" and r.key not in world.mutations:
            missing.append(f"{r.key}: changes something, but has no entry in the mutations table")
        elif r.params and r.key not in world.unscoped:
            unknown = [
                p for p in r.params if p not in world.fixed and not world.a.id_for(Role.national_admin, p)
            ]
            if unknown:
                missing.append(f"{r.key}: no object of the seeded areas for {unknown}")
    return missing


def _path(route: Route, area: Area, role: Role, fixed: dict[str, str], own: dict | None = None) -> str:
    path = route.path
    for name in route.params:
        value = fixed.get(name) or (own or {}).get(name) or area.id_for(role, name)
        path = re.sub(r"\{" + name + r"[^}]*\}", str(value), path)
    return path


def _missing_path(route: Route, area: Area, role: Role, fixed: dict[str, str], own: dict | None = None):
    """The path of `_path` with every id in it replaced by one nobody has; None when it holds no id."""
    path = _path(route, area, role, fixed, own)
    ids = [
        value
        for name in route.params
        if _is_uuid(value := str(fixed.get(name) or (own or {}).get(name) or area.id_for(role, name)))
    ]
    for value in ids:
        path = path.replace(value, str(uuid.uuid4()))
    return path if ids else None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class Matrix:
    """Runs one service's routes for both areas and collects what went wrong, named by route and role."""

    def __init__(self, world: World):
        self.w = world
        self.client = world.service.client
        self.problems: list[str] = []
        self.calls = 0

    async def call(self, method: str, path: str, headers: dict, body=None, params=None):
        self.calls += 1
        if isinstance(body, Upload):
            return await self.client.request(
                method, path, headers=headers, data=body.data, files=body.files, params=params
            )
        return await self.client.request(method, path, headers=headers, json=body, params=params)

    def caller(self, route: Route, role: Role, inside: Area, outside: Area) -> dict:
        """The area's caller with `role`, also holding the other area's grants of roles the route refuses.

        A route scopes by the grants of the roles it takes: a district officer of Battambang who is also
        Prey Veng's working group sees Prey Veng's contacts, never Battambang's, as the officer role opens
        no contact list. A query that pooled every grant would show the other area here.
        """
        grants = inside.scope(role)
        for other in sorted(route.refused):
            if other is not Role.facility_staff or outside.facility:  # a site only where one was seeded
                grants += outside.scope(other)
        subject = f"matrix-{role.value}-{inside.place.checkpoint}"
        return bearer(*grants, subject=subject)

    def fail(self, route: Route, role: Role, inside: Area, what: str) -> None:
        self.problems.append(f"{route.key} as {role.value} of {inside.place.label}: {what}")

    def leaks(self, text: str, outside: Area) -> list[str]:
        return sorted(m for m in outside.markers if m in text)

    async def run(self) -> list[str]:
        routes = scoped_routes(self.w.service.app)
        self.problems += unclassified(self.w, routes)
        if self.problems:
            return self.problems
        # A marker both areas hold (a province they share, a site) tells neither apart.
        shared = self.w.a.markers & self.w.b.markers
        self.w.a.markers -= shared
        self.w.b.markers -= shared
        reads = [r for r in routes if r.method == "GET"]
        changes = [r for r in routes if r.method != "GET"]
        for inside, outside in ((self.w.a, self.w.b), (self.w.b, self.w.a)):
            for route in reads:
                for role in sorted(route.allowed & self.w.roles):
                    await self.read(route, role, inside, outside)
            before = await self.w.snapshot(outside)
            for route in changes:
                for role in sorted(route.allowed & self.w.roles - {Role.national_admin}):
                    await self.change_outside(route, role, inside, outside)
            if (after := await self.w.snapshot(outside)) != before:
                self.problems.append(
                    f"{inside.place.label}'s callers changed {outside.place.label}: {before} -> {after}"
                )
            for route in changes:
                roles = sorted(route.allowed & self.w.roles)
                answers = [await self.change_inside(route, role, inside, outside) for role in roles]
                # A scope so narrow that nobody can ever change their own object is a finding too.
                if answers and not OK & set(answers):
                    self.problems.append(
                        f"{route.key}: no caller of {inside.place.label} succeeded in its area {answers}"
                    )
        return self.problems

    async def read(self, route: Route, role: Role, inside: Area, outside: Area) -> None:
        headers = self.caller(route, role, inside, outside)
        national = role is Role.national_admin
        query = self.w.queries.get(route.key)
        if route.params and route.key not in self.w.unscoped:
            r = await self.call("GET", _path(route, inside, role, self.w.fixed), headers, params=query)
            if r.status_code != 200:
                self.fail(route, role, inside, f"own object: {r.status_code}, expected 200 ({r.text[:120]})")
            if national:
                return
            if found := self.leaks(r.text, outside):
                self.fail(route, role, inside, f"own object leaks {outside.place.label}: {found}")
            r = await self.call("GET", _path(route, outside, role, self.w.fixed), headers, params=query)
            if r.status_code != 404:
                self.fail(route, role, inside, f"object of the other area: {r.status_code}, expected 404")
            await self.same_as_missing(
                route, role, inside, r, _missing_path(route, outside, role, self.w.fixed)
            )
            return
        path = _path(route, inside, role, self.w.fixed)
        r = await self.call("GET", path, headers, params=query)
        if r.status_code != 200:
            self.fail(route, role, inside, f"{r.status_code}, expected 200 ({r.text[:120]})")
            return
        if not national and (found := self.leaks(r.text, outside)):
            self.fail(route, role, inside, f"leaks {outside.place.label}: {found}")
        if count := self.w.counts.get(route.key):
            expected = inside.returnees + (outside.returnees if national else 0)
            if (got := count(r.json())) != expected:
                self.fail(route, role, inside, f"counts {got} returnees, expected {expected}")
        if "area" in route.query and not national:
            await self.ask_for_areas(route, role, inside, outside, path, query or {})

    async def ask_for_areas(self, route, role, inside: Area, outside: Area, path: str, query: dict) -> None:
        """The other area's figures by name are a 404; an area holding both counts the caller's part only."""
        common, theirs = outside.place.split_from(inside.place)
        headers = self.caller(route, role, inside, outside)
        r = await self.call("GET", path, headers, params={**query, "area": theirs})
        if r.status_code != 404:
            self.fail(route, role, inside, f"area={theirs}: {r.status_code}, expected 404")
        if common == "KH":
            return  # the call without `area` asked for the nation already
        r = await self.call("GET", path, headers, params={**query, "area": common})
        if r.status_code != 200:
            self.fail(route, role, inside, f"area={common}: {r.status_code}, expected 200")
        elif (count := self.w.counts.get(route.key)) and (got := count(r.json())) != inside.returnees:
            self.fail(route, role, inside, f"area={common} counts {got}, expected {inside.returnees}")
        elif found := self.leaks(r.text, outside):
            self.fail(route, role, inside, f"area={common} leaks {outside.place.label}: {found}")

    async def change_outside(self, route: Route, role: Role, inside: Area, outside: Area) -> None:
        """A caller of `inside` acting on the other area's object (or in its place): refused, nothing told."""
        m = self.w.mutations[route.key]
        path = _path(route, outside, role, self.w.fixed, m.ids(outside) if m.ids else None)
        r = await self.call(
            route.method, path, self.caller(route, role, inside, outside), body=m.body(outside)
        )
        if r.status_code != m.outside:
            self.fail(
                route, role, inside, f"other area: {r.status_code}, expected {m.outside} ({r.text[:120]})"
            )
        if found := self.leaks(r.text, outside):
            self.fail(route, role, inside, f"the refusal leaks {outside.place.label}: {found}")
        if m.outside == 404:
            missing = _missing_path(route, outside, role, self.w.fixed, m.ids(outside) if m.ids else None)
            await self.same_as_missing(route, role, inside, r, missing, body=m.body(outside))

    async def same_as_missing(self, route, role, inside: Area, refused, path: str | None, body=None) -> None:
        """The other area's object is answered byte for byte as an id nobody has: no telling it exists."""
        if path is None:
            return
        query = self.w.queries.get(route.key) if route.method == "GET" else None
        headers = self.caller(route, role, inside, self.w.b if inside is self.w.a else self.w.a)
        r = await self.call(route.method, path, headers, body=body, params=query)
        if (refused.status_code, refused.content) != (r.status_code, r.content):
            self.fail(
                route,
                role,
                inside,
                f"the other area's object is told apart from a missing one: {refused.status_code} "
                f"{refused.text[:80]} against {r.status_code} {r.text[:80]}",
            )

    async def change_inside(self, route: Route, role: Role, inside: Area, outside: Area) -> int:
        m = self.w.mutations[route.key]
        if m.prepare:
            await m.prepare(inside)
        path = _path(route, inside, role, self.w.fixed, m.ids(inside) if m.ids else None)
        r = await self.call(
            route.method, path, self.caller(route, role, inside, outside), body=m.body(inside)
        )
        if r.status_code not in m.ok:
            self.fail(
                route, role, inside, f"own object: {r.status_code}, expected {sorted(m.ok)} ({r.text[:160]})"
            )
        elif m.counted and r.status_code in OK:
            inside.returnees += 1
        if role is not Role.national_admin and (found := self.leaks(r.text, outside)):
            self.fail(route, role, inside, f"the answer leaks {outside.place.label}: {found}")
        if m.after:
            await m.after(inside, r)
        return r.status_code
