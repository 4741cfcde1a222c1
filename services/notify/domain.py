"""Pure rules of the commune follow-up: phone numbers, SMS texts that fit, reply parsing, timing."""

import base64
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from shared.clock import CAMBODIA
from shared.i18n import LANGS, namespace, text

# Two concatenated UCS-2 parts carry 67 characters each once the concatenation header is in.
UCS2_PART = 67
SMS_MAX_UNITS = 2 * UCS2_PART
# 10^8 codes: with at most 10 wrong replies a number a day (handlers.MAX_FAILED_PER_DAY) and some dozens of
# open follow-ups a commune, a guess hits once in ~100,000 days. Digits: the easiest to type on any keypad.
CODE_LENGTH = 8
# The codes of follow-ups opened before they had 8 digits, still answered until those follow-ups end.
LEGACY_CODE_LENGTH = 6


class Level(StrEnum):
    commune = "commune"
    district = "district"
    province = "province"


LEVEL_BY_LENGTH = {6: Level.commune, 4: Level.district, 2: Level.province}


def level_of(area_code: str) -> Level:
    """The contact level of a gazetteer code (2, 4 or 6 ASCII digits)."""
    if not (area_code.isascii() and area_code.isdigit()) or len(area_code) not in LEVEL_BY_LENGTH:
        raise ValueError("area_code must be a province (2), district (4) or commune (6) code")
    return LEVEL_BY_LENGTH[len(area_code)]


def normalize_phone(raw: str) -> str:
    """A Cambodian mobile number as digits with the country code: '012 345 678' -> '85512345678'."""
    digits = re.sub(r"[\s\-().]", "", raw or "")
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = "855" + digits[1:]
    if not digits.isascii() or not digits.isdigit() or not 8 <= len(digits) <= 15:
        raise ValueError("phone must be a phone number such as +85512345678 or 012345678")
    return digits


def new_code() -> str:
    """A follow-up code a chief can type on a basic phone (digits only)."""
    return "".join(secrets.choice("0123456789") for _ in range(CODE_LENGTH))


def new_webhook_secret() -> str:
    """A fresh per-endpoint secret in the Standard Webhooks form `whsec_<base64>`."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def ucs2_units(text: str) -> int:
    """Length as UCS-2 code units, what an SMS part is counted in."""
    return len(text.encode("utf-16-be")) // 2


def sms_parts(text: str) -> int:
    units = ucs2_units(text)
    return 1 if units <= 70 else -(-units // UCS2_PART)


# --- alert texts ---------------------------------------------------------------------------------------

# The words are in the catalog (shared/i18n): here only how they are put together.
SEX = {lang: namespace("sms.sex", lang) for lang in LANGS}
TEMPLATES = {lang: namespace("sms.alert", lang) for lang in LANGS}
REPLIES = {lang: namespace("sms.reply", lang) for lang in LANGS}
# Sent to a known contact whose reply we could not match: we do not know the message's language, so both.
ERROR_REPLY = " ".join(text("sms.not_understood", lang) for lang in LANGS)


@dataclass(frozen=True)
class AlertFacts:
    """What an alert says about a returnee, already in the recipient's language."""

    name: str
    sex: str
    age: int
    village: str
    code: str
    when: datetime | None = None
    commune: str = ""


def format_when(when: datetime | None) -> str:
    return when.astimezone(CAMBODIA).strftime("%d/%m %H:%M") if when else "-"


def _shorten(text: str, by: int) -> str:
    keep = max(len(text) - by - 1, 1)
    return text[:keep] + "…"


def render_alert(reason: str, language: str, facts: AlertFacts) -> str:
    """The alert SMS, shortening the name, then the village, until it fits two UCS-2 parts."""
    template = TEMPLATES[language][reason]
    fields = {
        "name": facts.name,
        "sex": SEX[language].get(facts.sex, facts.sex),
        "age": facts.age,
        "village": facts.village,
        "code": facts.code,
        "when": format_when(facts.when),
        "commune": facts.commune,
    }
    text = template.format(**fields)
    for field in ("name", "village", "commune"):
        excess = ucs2_units(text) - SMS_MAX_UNITS
        if excess <= 0:
            break
        shortened = _shorten(fields[field], excess)
        fields[field] = shortened
        text = template.format(**fields)
    if ucs2_units(text) > SMS_MAX_UNITS:  # only a template edit can get here
        raise ValueError(f"alert template {language}/{reason} does not fit two SMS parts")
    return text


def render_reply(command: "Command", language: str, code: str) -> str:
    return REPLIES[language][command.value].format(code=code)


# --- replies -------------------------------------------------------------------------------------------


class Command(StrEnum):
    visit = "visit"
    sick = "sick"
    ok = "ok"


KEYWORDS = {
    "VISIT": Command.visit,
    "V": Command.visit,
    "សួរ": Command.visit,
    "ជួប": Command.visit,
    "SICK": Command.sick,
    "S": Command.sick,
    "ឈឺ": Command.sick,
    "OK": Command.ok,
    "សុខ": Command.ok,
    "ស្រួល": Command.ok,
}
KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")


def parse_reply(text: str) -> tuple[Command, str] | None:
    """`VISIT 12345678` (any case, Khmer keywords and digits too) -> (Command.visit, '12345678')."""
    words = (text or "").translate(KHMER_DIGITS).split()
    if len(words) != 2:
        return None
    command = KEYWORDS.get(words[0].upper())
    code = words[1]
    if command is None or not (
        code.isascii() and code.isdigit() and len(code) in (CODE_LENGTH, LEGACY_CODE_LENGTH)
    ):
        return None
    return command, code


# --- timing --------------------------------------------------------------------------------------------


def backoff(attempts: int, *, base: float, cap: float) -> timedelta:
    """Exponential backoff before the next try of a delivery that failed `attempts` times."""
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


def is_overdue(*, due_at: datetime | None, visited_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and visited_at is None and now >= due_at


def is_complete(*, clear_since: datetime | None, days: int, now: datetime) -> bool:
    """Complete once `days` have passed with no symptoms reported since `clear_since`."""
    return clear_since is not None and now >= clear_since + timedelta(days=days)


# --- webhook targets -----------------------------------------------------------------------------------


def check_webhook_url(url: str) -> str:
    """Refuse anything but an absolute http(s) URL without credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ValueError("webhook_url must be an absolute http(s) URL without credentials")
    return url


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, reserved... addresses (SSRF targets)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global
