"""Pure rules of notify: SMS texts that fit two UCS-2 parts, reply parsing, phone numbers, URL checks."""

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain import (
    ERROR_REPLY,
    SMS_MAX_UNITS,
    TEMPLATES,
    AlertFacts,
    Command,
    backoff,
    check_webhook_url,
    is_complete,
    is_public_address,
    new_code,
    normalize_phone,
    parse_reply,
    render_alert,
    sms_parts,
    ucs2_units,
)

LONG_KM = "សម្តេចអគ្គមហាសេនាបតីតេជោ ព្រះករុណា ស្រីសុវណ្ណរតនាវិសុទ្ធិធិបតីមហាវិចិត្រសុន្ទរ"
LONG_EN = "Samdech Akka Moha Sena Padei Techo Preah Karuna Srey Sovannaratanavisuddhi Mahavichetsonthor"
LONG_VILLAGE_KM = "ភូមិទួលស្វាយព្រៃក្រសាំងមានជ័យថ្មីខាងជើង"
WHEN = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize("language", ["km", "en"])
@pytest.mark.parametrize("reason", list(TEMPLATES["km"]))
def test_long_names_are_shortened_to_two_ucs2_parts(language: str, reason: str) -> None:
    name, village = (LONG_KM, LONG_VILLAGE_KM) if language == "km" else (LONG_EN, LONG_EN)
    facts = AlertFacts(
        name=name, sex="F", age=34, village=village, code="48291375", when=WHEN, commune=village
    )
    text = render_alert(reason, language, facts)
    assert ucs2_units(text) <= SMS_MAX_UNITS
    assert sms_parts(text) <= 2
    assert "48291375" in text  # the code is never cut
    assert "…" in text


def test_a_short_khmer_alert_is_kept_whole() -> None:
    facts = AlertFacts(name="សុខ ដារ៉ា", sex="F", age=34, village="អូរធំ", code="48291375", when=WHEN)
    text = render_alert("dispatched", "km", facts)
    assert "សុខ ដារ៉ា" in text and "ស្រី" in text and "34" in text and "អូរធំ" in text
    assert "25/11 14:30" in text  # arrival in Cambodia's time
    assert "VISIT 48291375" in text


def test_the_error_reply_fits_one_message_pair() -> None:
    assert ucs2_units(ERROR_REPLY) <= SMS_MAX_UNITS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VISIT 12345678", (Command.visit, "12345678")),
        ("  visit   12345678 ", (Command.visit, "12345678")),
        ("sick 00012345", (Command.sick, "00012345")),
        ("OK 99999999", (Command.ok, "99999999")),
        ("សួរ ១២៣៤៥៦៧៨", (Command.visit, "12345678")),  # Khmer keyword and digits
        ("ឈឺ 12345678", (Command.sick, "12345678")),
        ("សុខ 12345678", (Command.ok, "12345678")),
        ("VISIT 123456", (Command.visit, "123456")),  # sent before codes had 8 digits
        ("VISIT", None),
        ("VISIT 12345", None),
        ("VISIT 1234567", None),
        ("VISIT 123456789", None),
        ("HELLO 12345678", None),
        ("VISIT 12345678 extra", None),
        ("", None),
    ],
)
def test_parse_reply(text: str, expected) -> None:
    assert parse_reply(text) == expected


def test_reply_codes_are_eight_digits_and_vary() -> None:
    # 10^8 codes against at most 10 wrong replies a day per number (handlers.MAX_FAILED_PER_DAY).
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 8 and c.isascii() and c.isdigit() for c in codes)
    assert len(codes) > 190


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+855 12 345 678", "85512345678"), ("012-345-678", "85512345678"), ("0085512345678", "85512345678")],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "abc", "12", "+855１２３４５６７８"])
def test_normalize_phone_refuses(raw: str) -> None:
    with pytest.raises(ValueError, match="phone"):
        normalize_phone(raw)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("::ffff:127.0.0.1", False),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_private_addresses_are_not_public(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize("url", ["ftp://x.org/", "http://user:pw@x.org/", "/relative", "x.org"])
def test_webhook_url_must_be_absolute_http(url: str) -> None:
    with pytest.raises(ValueError, match="webhook_url"):
        check_webhook_url(url)


def test_backoff_grows_and_is_capped() -> None:
    waits = [backoff(n, base=1, cap=10).total_seconds() for n in range(1, 7)]
    assert waits == [1, 2, 4, 8, 10, 10]


def test_fourteen_clear_days_complete() -> None:
    start = WHEN
    assert not is_complete(clear_since=start, days=14, now=start + timedelta(days=13, hours=23))
    assert is_complete(clear_since=start, days=14, now=start + timedelta(days=14))
    assert not is_complete(clear_since=None, days=14, now=start + timedelta(days=30))
