"""Rules of registration at the checkpoint: pure functions, no I/O."""

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.clock import CAMBODIA
from shared.contracts.intake import QuarantinePolicy, SpecialCare
from shared.errors import Invalid

FEVER_C = 37.5
ELDERLY_AGE = 60
ADULT_AGE = 18


@dataclass(frozen=True)
class Rule:
    checkpoint_id: str
    policy: QuarantinePolicy
    starts_on: date | None
    ends_on: date | None

    def applies(self, checkpoint_id: str, day: date) -> bool:
        return (
            self.checkpoint_id in ("*", checkpoint_id)
            and (self.starts_on is None or self.starts_on <= day)
            and (self.ends_on is None or day <= self.ends_on)
        )


def policy_for(rules: Iterable[Rule], default: QuarantinePolicy, *, checkpoint_id: str, day: date):
    """The quarantine policy of a checkpoint on a day: the first rule that applies, else the default."""
    return next((r.policy for r in rules if r.applies(checkpoint_id, day)), default)


def cambodia_day(moment: datetime) -> date:
    return moment.astimezone(CAMBODIA).date()


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def resolve_age(*, birth: date | None, age_years: int | None, today: date, loc: Sequence) -> int:
    """The age in whole years, from the date of birth when known; one of the two is required."""
    if birth is None:
        if age_years is None:
            raise Invalid((*loc, "age_years"), "give a date of birth or an age")
        return age_years
    if birth > today:
        raise Invalid((*loc, "date_of_birth"), "date of birth is in the future")
    age = age_on(birth, today)
    if age > 130:
        raise Invalid((*loc, "date_of_birth"), "date of birth is too far in the past")
    if age_years is not None and abs(age_years - age) > 1:
        raise Invalid((*loc, "age_years"), "age does not match the date of birth")
    return age


def check_id_document(*, doc_type: str, number: str | None, loc: Sequence) -> None:
    if doc_type == "none" and number:
        raise Invalid((*loc, "id_doc_number"), "a number was given with document type 'none'")
    if doc_type != "none" and not number:
        raise Invalid((*loc, "id_doc_number"), "the document number is required for this document type")


def check_arrival(*, arrived_at: datetime, now: datetime, skew: timedelta, max_age: timedelta) -> None:
    """A tablet may sync days late, but an arrival cannot lie in the future."""
    if arrived_at > now + skew:
        raise Invalid(("body", "arrived_at"), "arrival time is in the future")
    if arrived_at < now - max_age:
        raise Invalid(("body", "arrived_at"), "arrival time is too old to register")


def care_flags(flags: Iterable[str], age: int) -> list[str]:
    """The officer's flags, plus those the age implies (infant, child, elderly)."""
    implied = []
    if age < 1:
        implied.append(SpecialCare.infant)
    if age < ADULT_AGE:
        implied.append(SpecialCare.child)
    if age >= ELDERLY_AGE:
        implied.append(SpecialCare.elderly)
    result = list(dict.fromkeys([*map(str, flags), *map(str, implied)]))
    return sorted(result, key=list(SpecialCare).index)


def referral_reasons(*, temperature_c: float, symptoms: Sequence[str], test_result: str) -> list[str]:
    """Why a screening counts as positive (empty when it does not)."""
    reasons = []
    if temperature_c >= FEVER_C:
        reasons.append("fever")
    if symptoms:
        reasons.append("symptoms")
    if test_result == "positive":
        reasons.append("positive_test")
    return reasons


def fingerprint(payload: dict) -> str:
    """A stable hash of a request body, to tell a re-sent registration from a different one."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def normalise_name(name: str) -> str:
    return " ".join(name.casefold().split())
