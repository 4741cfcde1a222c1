"""Pure quarantine rules: which site, which days, when to release."""

from datetime import date

from services.quarantine import domain
from services.quarantine.domain import Check, Site

POIPET = (13.659730, 102.562269)
NEAR = Site("near", 13.66, 102.55, 5, frozenset())
FAR = Site("far", 13.56, 102.37, 5, frozenset({"infant", "pregnant"}))
NOWHERE = Site("nowhere", None, None, 9, frozenset())


def test_nearest_site_with_a_free_bed_wins():
    assert domain.choose_site([FAR, NEAR], origin=POIPET) == "near"
    full = Site("near", 13.66, 102.55, 0, frozenset())
    assert domain.choose_site([FAR, full], origin=POIPET) == "far"
    assert domain.choose_site([full], origin=POIPET) is None


def test_special_care_needs_a_site_that_gives_it():
    assert domain.choose_site([NEAR, FAR], origin=POIPET, needs=["infant"]) == "far"
    assert domain.choose_site([NEAR, FAR], origin=POIPET, needs=["ill"]) is None


def test_a_household_joins_its_site_or_none():
    assert domain.choose_site([NEAR, FAR], origin=POIPET, household_site="far") == "far"
    full_far = Site("far", 13.56, 102.37, 0, frozenset())
    assert domain.choose_site([NEAR, full_far], origin=POIPET, household_site="far") is None


def test_without_a_checkpoint_position_the_emptiest_site_wins():
    assert domain.choose_site([NEAR, NOWHERE, FAR], origin=None) == "nowhere"
    # With a position, sites without one come after those with one.
    assert domain.choose_site([NOWHERE, FAR], origin=POIPET) == "far"


def test_days_are_whole_days_from_the_start():
    start = date(2026, 3, 1)
    assert domain.ends_on(start, 14) == date(2026, 3, 15)
    assert domain.day_number(start, start) == 1
    assert domain.missed_days(starts_on=start, today=date(2026, 3, 5), length=14, checked={1, 3}) == [2, 4]
    assert domain.missed_days(starts_on=start, today=date(2026, 4, 1), length=3, checked=set()) == [1, 2, 3]


def test_fever_counts_as_a_symptom():
    assert domain.symptoms_of(38.0, [], 37.5) == ["fever"]
    assert domain.symptoms_of(36.5, [" Cough ", "cough"], 37.5) == ["cough"]
    assert domain.symptoms_of(None, [], 37.5) == []


def _blocker(today, checks, referred=False, require=True):
    return domain.release_blocker(
        today=today,
        release_on=date(2026, 3, 15),
        referred=referred,
        checks=checks,
        window_days=1,
        require_final_checkin=require,
    )


def test_release_needs_the_end_no_hold_and_clear_final_checkins():
    end = date(2026, 3, 15)
    assert _blocker(date(2026, 3, 14), [Check(date(2026, 3, 14), True)]) == "quarantine not over"
    assert _blocker(end, [Check(date(2026, 3, 14), True)]) is None
    assert _blocker(end, [Check(date(2026, 3, 2), True)]) == "no check-in in the final days"
    assert _blocker(end, [Check(date(2026, 3, 2), True)], require=False) is None
    assert _blocker(end, [Check(date(2026, 3, 14), False)]) == "last check-in had symptoms"
    assert _blocker(end, [Check(end, True)], referred=True) == "referred to health care, not cleared"
    mixed = [Check(date(2026, 3, 14), False), Check(end, True)]
    assert _blocker(end, mixed) == "symptoms reported in the final days"
    # Held past the end: a clean window later, it goes.
    assert (
        _blocker(date(2026, 3, 20), [Check(date(2026, 3, 18), False), Check(date(2026, 3, 20), True)]) is None
    )
