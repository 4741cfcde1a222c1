"""Pure rules of identity: what a grant may look like, passwords, the brake on guessing."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.geo.gazetteer import Gazetteer
from shared.web.auth import NATION, Grant, Role
from shared.web.grants import scope_is_valid

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class InvalidGrant(ValueError):
    """A `ROLE:SCOPE` text that names no role, or a scope that does not fit the role."""


def scope_fits(gazetteer: Gazetteer, role: Role, scope: str) -> bool:
    """Whether `scope` names something that exists and is of the kind `role` is scoped to."""
    if not scope_is_valid(role, scope):
        return False
    if role is Role.transport_officer:  # an officer is created where transfers start: a Thai border province
        return any(c.province_code == scope for c in gazetteer.checkpoints())
    return True


def parse_grant(text: str, gazetteer: Gazetteer) -> Grant:
    """`provincial_wg:14` -> Grant; `national_admin` alone means the nation."""
    role_name, _, scope = text.strip().partition(":")
    try:
        role = Role(role_name)
    except ValueError:
        raise InvalidGrant(f"{text!r}: unknown role (one of {', '.join(r.value for r in Role)})") from None
    scope = scope or (NATION if role is Role.national_admin else "")
    if not scope_fits(gazetteer, role, scope):
        raise InvalidGrant(f"{text!r}: {scope or 'an empty scope'} is not a valid scope for {role.value}")
    return Grant(role=role, scope=scope)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password: at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"password: at most {MAX_PASSWORD_LENGTH} characters"
    return None


def username_problem(username: str) -> str | None:
    if not USERNAME.match(username):
        return "username: 2-64 lower-case letters, digits, '.', '_' or '-'"
    return None


def not_before(tokens_valid_after: datetime) -> int:
    """The first `iat` (whole seconds) still accepted: a token issued in the second of the change is not."""
    return int(tokens_valid_after.timestamp()) + 1


@dataclass(frozen=True)
class Brake:
    """Consecutive failed logins of one username lock it for a while; a success resets the count."""

    max_failures: int
    lockout: timedelta

    def is_locked(self, locked_until: datetime | None, now: datetime) -> bool:
        if locked_until is None:
            return False
        return now < locked_until

    def after_failure(self, failures: int, now: datetime) -> tuple[int, datetime | None]:
        """The new failure count and, once it reaches the limit, when the lock ends (count restarts)."""
        failures += 1
        if failures >= self.max_failures:
            return 0, now + self.lockout
        return failures, None


@dataclass(frozen=True)
class DemoUser:
    username: str
    grants: tuple[str, ...]
    what: str


# Around the Poipet crossing (Banteay Meanchey, 01) and a home province of many returnees (Prey Veng, 14).
DEMO_USERS = (
    DemoUser("checkpoint.poipet", ("checkpoint_officer:KH-TH-01",), "checkpoint officer, Poipet"),
    DemoUser("facility.poipet", ("facility_staff:QF-01-1",), "quarantine facility staff, Poipet"),
    DemoUser("transport.bmc", ("transport_officer:01",), "transport officer, Banteay Meanchey"),
    DemoUser("pwg.bmc", ("provincial_wg:01",), "provincial working group, Banteay Meanchey"),
    DemoUser("pwg.preyveng", ("provincial_wg:14",), "provincial working group, Prey Veng"),
    DemoUser("district.baphnum", ("district_officer:1401",), "district officer, Ba Phnum (Prey Veng)"),
    DemoUser("commune.boengpreah", ("commune_chief:140101",), "commune chief, Boeng Preah (Prey Veng)"),
    DemoUser("national.admin", ("national_admin:KH",), "national administrator"),
)
