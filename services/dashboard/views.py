"""The printable daily situation report, in Khmer or English, as a page and as an A4 PDF."""

from html import escape
from typing import Literal

from services.dashboard.domain import METRICS, area_names
from services.dashboard.models import DailyReport

Lang = Literal["km", "en"]

LABELS: dict[str, dict[str, str]] = {
    "title": {
        "en": "Daily situation report: returnees from Thailand",
        "km": "របាយការណ៍ស្ថានការណ៍ប្រចាំថ្ងៃ៖ ពលករចំណាកស្រុកវិលត្រឡប់ពីប្រទេសថៃ",
    },
    "period": {"en": "Period", "km": "រយៈពេល"},
    "generated": {"en": "Generated", "km": "បង្កើតនៅ"},
    "day": {"en": "Day", "km": "ថ្ងៃ"},
    "province": {"en": "Province", "km": "ខេត្ត"},
    "checkpoint": {"en": "Checkpoint", "km": "ច្រកព្រំដែន"},
    "stale": {"en": "No sync for over {h} h", "km": "គ្មានការធ្វើសមកាលកម្មលើស {h} ម៉ោង"},
    "rollup": {"en": "Totals: commune → district → province → nation", "km": "សរុប៖ ឃុំ → ស្រុក → ខេត្ត → ជាតិ"},
    "area": {"en": "Area", "km": "តំបន់"},
    "level": {"en": "Level", "km": "កម្រិត"},
    "unknown": {"en": "(not yet known)", "km": "(មិនទាន់ដឹង)"},
    "received": {"en": "Received", "km": "បានទទួល"},
    "screened": {"en": "Screened", "km": "បានពិនិត្យសុខភាព"},
    "referred": {"en": "Referred", "km": "បានបញ្ជូនព្យាបាល"},
    "in_quarantine": {"en": "In quarantine", "km": "កំពុងធ្វើចត្តាឡីស័ក"},
    "released": {"en": "Released", "km": "បានបញ្ចប់ចត្តាឡីស័ក"},
    "transported": {"en": "Transported", "km": "បានដឹកជញ្ជូន"},
    "handed_over": {"en": "Handed over", "km": "បានប្រគល់"},
    "visited": {"en": "Visited", "km": "បានចុះសួរសុខទុក្ខ"},
    "overdue": {"en": "Overdue", "km": "ហួសកំណត់"},
    "nation": {"en": "Nation", "km": "ជាតិ"},
    "district": {"en": "District", "km": "ស្រុក"},
    "commune": {"en": "Commune", "km": "ឃុំ"},
}


def label(key: str, lang: Lang) -> str:
    return LABELS[key][lang]


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
