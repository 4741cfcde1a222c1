"""Pure rules of the dashboard: status, age groups, scope, roll-up; and that every contract is consumed."""

from datetime import date

import pytest

from services.dashboard import domain
from services.dashboard.consumer import handlers
from services.dashboard.domain import Steps, status_of
from shared.contracts import REGISTRY, event_class
from shared.contracts.topics import TOPICS


@pytest.mark.parametrize(
    ("steps", "status"),
    [
        (Steps(), "registered"),
        (Steps(referred=True), "referred"),
        (Steps(referred=True, referral_cleared=True), "registered"),
        (Steps(waiting=True), "waiting"),
        (Steps(referred=True, waiting=True), "referred"),
        (Steps(quarantined=True), "in_quarantine"),
        (Steps(quarantined=True, home_quarantine=True), "registered"),
        (Steps(quarantined=True, released=True), "released"),
        (Steps(quarantined=True, released=True, transported=True), "in_transit"),
        # A hand-over read before the dispatch (another topic) still counts as handed over.
        (Steps(handed_over=True), "handed_over"),
        (Steps(transported=True, missing=True), "missing"),
    ],
)
def test_status_is_the_furthest_step(steps, status):
    assert status_of(steps) == status


@pytest.mark.parametrize(
    ("age", "group"), [(0, "0-4"), (4, "0-4"), (5, "5-17"), (17, "5-17"), (18, "18-59"), (60, "60+")]
)
def test_age_groups(age, group):
    assert domain.age_group(age) == group


def test_scope_cuts_the_area_down_to_the_grants():
    assert domain.visible_prefixes(None, "KH") is None
    assert domain.visible_prefixes(None, "14") == ["14"]
    assert domain.visible_prefixes({"02"}, "KH") == ["02"]
    assert domain.visible_prefixes({"02"}, "0201") == ["0201"]
    assert domain.visible_prefixes({"0201", "0202"}, "02") == ["0201", "0202"]
    with pytest.raises(domain.OutOfScope):
        domain.visible_prefixes({"02"}, "14")
    with pytest.raises(domain.OutOfScope):
        domain.visible_prefixes(set(), "02")


def test_area_codes_are_checked_against_the_gazetteer():
    assert domain.area_level("02") == "province"
    assert domain.area_level("020101") == "commune"
    for bad in ("99", "0299", "2", "០២", "KHM"):
        with pytest.raises(domain.BadArea):
            domain.area_level(bad)


def test_roll_up_sums_communes_to_the_nation():
    communes = {"020101": {"received": 3}, "020102": {"received": 1}, "140101": {"received": 2}}
    totals = dict(domain.roll_up(communes))
    assert totals["KH"]["received"] == 6
    assert totals["02"]["received"] == totals["0201"]["received"] == 4
    assert list(dict(domain.roll_up(communes))) == [
        "KH",
        "02",
        "0201",
        "020101",
        "020102",
        "14",
        "1401",
        "140101",
    ]


def test_in_quarantine_at_the_end_of_each_day():
    d = [date(2026, 11, n) for n in (1, 2, 3)]
    assert domain.in_quarantine_by_day({d[0]: 2, d[1]: 1}, {d[1]: 2}, d) == {d[0]: 2, d[1]: 1, d[2]: 1}


def test_every_contract_on_the_topics_has_a_handler():
    event_class("")
    topics = {t.name for t in TOPICS}
    on_topics = {cls for cls in REGISTRY.values() if cls.topic in topics}
    assert on_topics and on_topics <= set(handlers())
