"""Whether a grant's scope names a real place of its role's kind, checked on every token.

A geographic scope becomes a `LIKE 'scope%'` filter on village codes, so a scope of `""` or `"1"` would
let its holder see a whole nation or ten provinces: a token carrying one is refused as a whole.
The codes are read once from the gazetteer into sets, so the check is a few set lookups per request.
"""

import re
from functools import cache

from shared.geo.gazetteer import load_gazetteer

NATION = "KH"
# As the quarantine service names its sites (its API's path pattern); matched exactly, never as a prefix.
FACILITY_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


@cache
def _codes() -> dict[str, frozenset[str]]:
    """Every valid scope of each kind of role, keyed by the role's value."""
    gazetteer = load_gazetteer()
    provinces = frozenset(p.code for p in gazetteer.provinces())
    districts = frozenset(d.code for p in provinces for d in gazetteer.districts_of(p))
    communes = frozenset(c.code for d in districts for c in gazetteer.communes_of(d))
    return {
        "national_admin": frozenset({NATION}),
        "provincial_wg": provinces,
        # Both ends of a transfer: the border province it leaves and the home province it reaches.
        "transport_officer": provinces,
        "district_officer": districts,
        "commune_chief": communes,
        "checkpoint_officer": frozenset(c.id for c in gazetteer.checkpoints()),
    }


def scope_is_valid(role: str, scope: str) -> bool:
    """Whether `scope` is a real code of the kind `role` (a Role's value) is scoped to."""
    if role == "facility_staff":
        return FACILITY_ID.fullmatch(scope) is not None
    codes = _codes().get(role)
    return codes is not None and scope in codes
