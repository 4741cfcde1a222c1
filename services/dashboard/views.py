"""The printable daily situation report, in Khmer or English, as a page and as an A4 PDF."""

from html import escape
from typing import Literal

from services.dashboard.domain import METRICS, area_names
from services.dashboard.models import DailyReport
from shared.i18n import text

Lang = Literal["km", "en"]


def label(key: str, lang: Lang) -> str:
    return text(f"report.{key}", lang)


def _cells(values, tag: str = "td") -> str:
    return "".join(f"<{tag}>{escape(str(v))}</{tag}>" for v in values)


def report_html(report: DailyReport, lang: Lang) -> str:
    """A self-contained page that prints on A4 landscape; no script, no outside resources."""
    name = 0 if lang == "en" else 1
    head = _cells([label(k, lang) for k in ("day", "province", "checkpoint", *METRICS)], "th")
    stale_note = label("stale", lang).format(h=f"{report.stale_after_hours:g}")
    body = []
    for row in report.rows:
        cp = row.checkpoint_id or label("unknown", lang)
        flag = f' class="stale" title="{escape(stale_note)}"' if row.stale else ""
        cells = _cells(
            [row.day, area_names(row.province_code)[name], cp, *(getattr(row, m) for m in METRICS)]
        )
        body.append(f"<tr{flag}>{cells}</tr>")
    rollup_head = _cells(
        [label("level", lang), label("area", lang), *(label(m, lang) for m in METRICS)], "th"
    )
    rollup = [
        f'<tr class="{a.level}">'
        + _cells(
            [
                label(a.level, lang),
                f"{a.code} {(a.name_en, a.name_km)[name]}",
                *(getattr(a, m) for m in METRICS),
            ]
        )
        + "</tr>"
        for a in report.rollup
    ]
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(label("title", lang))}</title>
<style>
@page {{ size: A4 landscape; margin: 12mm; }}
body {{ font-family: "Khmer OS", "Khmer OS System", "Noto Sans Khmer", sans-serif; font-size: 11px; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 16px; }}
th, td {{ border: 1px solid #999; padding: 2px 4px; text-align: right; }}
th:nth-child(-n+3), td:nth-child(-n+3) {{ text-align: left; }}
tr.stale td {{ background: #fde2e1; }}
tr.nation td, tr.province td {{ font-weight: bold; }}
</style></head><body>
<h1>{escape(label("title", lang))}</h1>
<p>{escape(label("period", lang))}: {report.since} – {report.until} · {escape(label("generated", lang))}:
{report.generated_at:%Y-%m-%d %H:%M} UTC · <span class="stale-key">■</span> {escape(stale_note)}</p>
<table id="days"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>
<h2>{escape(label("rollup", lang))}</h2>
<table id="rollup"><thead><tr>{rollup_head}</tr></thead><tbody>{"".join(rollup)}</tbody></table>
</body></html>"""


def report_pdf(report: DailyReport, lang: Lang) -> bytes:
    """The page above laid out by WeasyPrint, which shapes Khmer through Pango with the Khmer OS fonts.

    Imported here, not at the top: WeasyPrint loads Pango at import, and only this route needs it.
    """
    from weasyprint import HTML

    return HTML(string=report_html(report, lang)).write_pdf()
