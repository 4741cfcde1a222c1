"""One catalog of words per language (shared/i18n): complete in both, and the only place the words live."""

import re
import string
from pathlib import Path

import pytest

from shared.i18n import LANGS, catalog

ROOT = Path(__file__).resolve().parents[2]
KHMER = re.compile(r"[\u1780-\u17ff]")
# Sources whose words have moved to the catalog: a Khmer letter here is a string a translator cannot find.
MOVED = [
    "services/dashboard/static/app.js",
    "services/dashboard/static/index.html",
    "services/dashboard/views.py",
    "services/dashboard/domain.py",
    "services/notify/domain.py",
    "services/notify/static/app.js",
    "services/notify/static/index.html",
    "services/quarantine/static/app.js",
    "services/quarantine/static/index.html",
    "services/transport/static/app.js",
    "services/transport/static/index.html",
    "services/intake/static/app.js",
    "services/intake/static/index.html",
]
# What notify reads in a chief's reply is parsing, not wording: the Khmer keywords and digits stay in code.
PARSING = re.compile(r'^\s*"[^"]+": Command\.|^KHMER_DIGITS = ')


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name} | set(
        re.findall(r"\{(\w+)\}", template)
    )


def test_both_languages_have_every_key_with_the_same_placeholders():
    km, en = (catalog(lang) for lang in LANGS)
    assert set(km) == set(en), set(km) ^ set(en)
    for key in km:
        assert km[key].strip() and en[key].strip(), key
        assert _placeholders(km[key]) == _placeholders(en[key]), key
    # Khmer text is Khmer: a key left in English in km.json is an untranslated key.
    untranslated = [
        k for k, v in km.items() if v == en[k] and KHMER.search(v) is None and re.search("[A-Za-z]{3}", v)
    ]
    assert untranslated == [], untranslated


@pytest.mark.parametrize("path", MOVED)
def test_no_words_are_left_in_the_code(path):
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    left = [
        f"{i}: {line.strip()}"
        for i, line in enumerate(lines, 1)
        if KHMER.search(line) and not PARSING.search(line)
    ]
    assert left == [], left


# Each page and the service that serves it: a page's words are under its path's name (intake's is /tablet/).
PAGES = {
    "dashboard": "dashboard",
    "notify": "notify",
    "quarantine": "quarantine",
    "transport": "transport",
    "tablet": "intake",
}


@pytest.mark.parametrize("page", PAGES)
def test_every_word_a_page_asks_for_is_in_the_catalog(page):
    static = ROOT / "services" / PAGES[page] / "static"
    asked = set(re.findall(r'data-t="([\w]+)"', (static / "index.html").read_text()))
    # t("key") and the page's button("key", …) helper; keys built from data (`st_${state}`) are not seen here.
    asked |= set(re.findall(r'\b(?:t|button)\("([\w]+)"', (static / "app.js").read_text()))
    assert asked, page
    for lang in LANGS:
        missing = {key for key in asked if f"{page}.{key}" not in catalog(lang)}
        assert missing == set(), (lang, missing)


def test_notify_page_has_a_word_for_every_value_it_shows():
    from services.notify.handlers import TRACKED
    from services.notify.main import STATES
    from services.notify.queries import UNMATCHED
    from services.notify.worker import CHANNELS

    handlers = (ROOT / "services" / "notify" / "handlers.py").read_text()
    reasons = set(re.findall(r'reason="(\w+)"', handlers))
    assert {"dispatched", "handed_over", "overdue"} <= reasons
    shown = (
        {f"st_{s}" for s in STATES}
        | {f"r_{r}" for r in reasons}
        | {f"ch_{c}" for c in CHANNELS}
        | {f"o_{o}" for o in UNMATCHED}
        | {f"f_{f}" for f in (*TRACKED, "deleted")}
        | {"lang_km", "lang_en"}
    )
    for lang in LANGS:
        missing = {key for key in shown if f"notify.{key}" not in catalog(lang)}
        assert missing == set(), (lang, missing)
