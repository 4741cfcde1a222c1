"""The words of every screen, report and SMS, one catalog per language: shared/i18n/<lang>.json.

Keys are `<namespace>.<name>` (`dashboard.title`, `report.period`, `sms.alert.dispatched`): a translator
edits one file per language, and tests/unit/test_catalog.py finds every key, and every placeholder, in both.
"""

import json
from functools import cache
from pathlib import Path
from typing import Literal

Lang = Literal["km", "en"]
LANGS: tuple[Lang, ...] = ("km", "en")
HERE = Path(__file__).resolve().parent


@cache
def catalog(lang: Lang) -> dict[str, str]:
    return json.loads((HERE / f"{lang}.json").read_text(encoding="utf-8"))


def text(key: str, lang: Lang) -> str:
    return catalog(lang)[key]


def namespace(prefix: str, lang: Lang) -> dict[str, str]:
    """The keys under `prefix.`, without it: what one page or one template set needs."""
    start = prefix + "."
    return {k.removeprefix(start): v for k, v in catalog(lang).items() if k.startswith(start)}
