"""Registration rules without I/O: ages, care flags, referral, quarantine policy, arrival times."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.intake import domain
from services.intake.domain import Invalid, Rule
from shared.contracts.intake import QuarantinePolicy


def test_age_comes_from_the_birth_date_and_must_agree_with_a_given_age():
    today = date(2026, 6, 24)
    assert domain.resolve_age(birth=date(2000, 6, 25), age_years=None, today=today, loc=("body",)) == 25
    assert domain.resolve_age(birth=None, age_years=7, today=today, loc=("body",)) == 7
    with pytest.raises(Invalid) as future:
        domain.resolve_age(birth=date(2026, 6, 25), age_years=None, today=today, loc=("body",))
    assert future.value.loc == ("body", "date_of_birth")
    with pytest.raises(Invalid) as mismatch:
        domain.resolve_age(birth=date(2000, 1, 1), age_years=40, today=today, loc=("body", "members", 2))
    assert mismatch.value.loc == ("body", "members", 2, "age_years")
    with pytest.raises(Invalid):
        domain.resolve_age(birth=None, age_years=None, today=today, loc=("body",))


def test_care_flags_add_what_the_age_implies_in_a_stable_order():
    assert domain.care_flags([], 0) == ["child", "infant"]
    assert domain.care_flags(["pregnant"], 30) == ["pregnant"]
    assert domain.care_flags(["disability", "ill"], 72) == ["ill", "elderly", "disability"]


@pytest.mark.parametrize(
    ("temperature", "symptoms", "test", "reasons"),
    [
        (36.8, [], "none", []),
        (37.5, [], "negative", ["fever"]),
        (36.0, ["cough"], "none", ["symptoms"]),
        (38.0, ["cough"], "positive", ["fever", "symptoms", "positive_test"]),
    ],
)
def test_referral_reasons(temperature, symptoms, test, reasons):
    assert domain.referral_reasons(temperature_c=temperature, symptoms=symptoms, test_result=test) == reasons


def test_policy_is_the_first_rule_for_the_checkpoint_and_day():
    rules = [
        Rule("KH-TH-13", QuarantinePolicy.home, date(2020, 8, 1), date(2020, 8, 31)),
        Rule("*", QuarantinePolicy.home, date(2021, 1, 1), None),
    ]

    def policy(checkpoint: str, day: date) -> QuarantinePolicy:
        return domain.policy_for(rules, QuarantinePolicy.border, checkpoint_id=checkpoint, day=day)

    assert policy("KH-TH-13", date(2020, 8, 15)) == "home"
    assert policy("KH-TH-13", date(2020, 9, 1)) == "border"
    assert policy("KH-TH-01", date(2020, 8, 15)) == "border"
    assert policy("KH-TH-01", date(2021, 3, 1)) == "home"


def test_arrival_may_be_late_but_not_in_the_future():
    now = datetime(2026, 6, 24, 10, tzinfo=UTC)
    bounds = {"now": now, "skew": timedelta(minutes=10), "max_age": timedelta(days=30)}
    domain.check_arrival(arrived_at=now - timedelta(days=3), **bounds)
    domain.check_arrival(arrived_at=now + timedelta(minutes=5), **bounds)
    for wrong in (now + timedelta(hours=1), now - timedelta(days=31)):
        with pytest.raises(Invalid) as exc:
            domain.check_arrival(arrived_at=wrong, **bounds)
        assert exc.value.loc == ("body", "arrived_at")


def test_arrival_day_is_counted_in_cambodia():
    assert domain.cambodia_day(datetime(2026, 6, 24, 18, 30, tzinfo=UTC)) == date(2026, 6, 25)


def test_document_number_goes_with_a_document_type():
    domain.check_id_document(doc_type="passport", number="N123", loc=("body",))
    domain.check_id_document(doc_type="none", number=None, loc=("body",))
    with pytest.raises(Invalid):
        domain.check_id_document(doc_type="none", number="N123", loc=("body",))
    with pytest.raises(Invalid):
        domain.check_id_document(doc_type="passport", number=None, loc=("body",))


def test_fingerprint_ignores_key_order():
    assert domain.fingerprint({"a": 1, "b": [1, 2]}) == domain.fingerprint({"b": [1, 2], "a": 1})
    assert domain.fingerprint({"a": 1}) != domain.fingerprint({"a": 2})
