"""The read model over real Kafka and PostgreSQL: exact figures in every table, rebuild, and scope."""

import csv
import io
from datetime import timedelta

import pytest

from tests.conftest import bearer
from tests.dashboard import flow
from tests.waiting import wait_until

NATIONAL = bearer(("national_admin", "KH"))
BATTAMBANG = bearer(("provincial_wg", "02"))
PREY_VENG = bearer(("provincial_wg", "14"))
WEEK = {"since": str(flow.on(0)), "until": str(flow.on(5))}


@pytest.fixture
async def dashboard(stack):
    """The dashboard fed with the scripted week, every event taken in.

    Two consumers share the partitions, so one returnee's events from two topics can be handled at once.
    """
    service = await stack.start("dashboard", consumers=2)
    events = flow.script()
    await flow.publish(service.runtime.producer, stack.prefix, events)
    await wait_until(lambda: _processed(service) >= len(events), timeout=60, what="every event consumed")
    return service


def _processed(service) -> int:
    return sum(c.processed for c in service.runtime.consumers)


async def _get(service, path: str, headers=NATIONAL, **params):
    response = await service.client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _rows_by_key(rows: list[dict]) -> dict:
    metrics = flow.Z.keys()
    return {
        ((flow.D.fromisoformat(r["day"]) - flow.D).days, r["province_code"], r["checkpoint_id"]): {
            m: int(r[m]) for m in metrics
        }
        for r in rows
    }


async def _figures(service, headers=NATIONAL) -> dict:
    """Everything the API shows for the scripted week, in one comparable value."""
    return {
        "summary": {
            k: v for k, v in (await _get(service, "/stats/summary", headers)).items() if k != "generated_at"
        },
        "report": (await _get(service, "/reports/daily", headers, **WEEK))["rows"],
        "rollup": (await _get(service, "/reports/daily", headers, **WEEK))["rollup"],
        "arrivals": await _get(service, "/stats/arrivals", headers, **WEEK),
    }


async def test_a_scripted_week_gives_exactly_the_expected_figures(dashboard):
    summary = await _get(dashboard, "/stats/summary")
    for part, expected in flow.EXPECTED_SUMMARY.items():
        assert summary[part] == expected, part
    assert summary["facilities"] == [{"facility_id": "F-01", "occupancy": 1, "capacity": None}]
    [manifest] = summary["manifests"]
    assert (manifest["passengers"], manifest["handed_over"], manifest["overdue"]) == (2, 1, True)

    report = await _get(dashboard, "/reports/daily", **WEEK)
    assert _rows_by_key(report["rows"]) == flow.EXPECTED_ROWS
    rollup = {a["code"]: {m: a[m] for m in flow.C1} for a in report["rollup"]}
    assert rollup == flow.EXPECTED_ROLLUP
    assert [a["code"] for a in report["rollup"]][:2] == ["KH", "02"]

    arrivals = await _get(dashboard, "/stats/arrivals", **WEEK)
    assert [
        ((flow.D.fromisoformat(a["day"]) - flow.D).days, a["checkpoint_id"], a["count"]) for a in arrivals
    ] == (flow.EXPECTED_ARRIVALS)


async def test_drill_down_from_the_nation_to_a_commune(dashboard):
    provinces = await _get(dashboard, "/stats/areas")
    assert {p["code"]: p["received"] for p in provinces} == {"02": 4, "14": 1}
    districts = await _get(dashboard, "/stats/areas", area="02")
    assert [(d["code"], d["name_en"], d["received"]) for d in districts] == [("0201", "Banan", 4)]
    communes = await _get(dashboard, "/stats/areas", area="0201")
    assert {c["code"]: (c["received"], c["in_quarantine"], c["alerted"], c["visited"]) for c in communes} == {
        "020101": (3, 0, 1, 1),
        "020102": (1, 1, 0, 0),
    }
    villages = await _get(dashboard, "/stats/areas", area="020101")
    assert {v["code"]: v["received"] for v in villages} == {flow.C1_VILLAGE: 3}


async def test_the_csv_holds_the_same_rows_and_roll_up(dashboard):
    response = await dashboard.client.get("/reports/daily.csv", params=WEEK, headers=NATIONAL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # so Excel reads it as UTF-8
    day_part, rollup_part = response.content.decode("utf-8-sig").split("\r\n\r\n")
    rows = list(csv.DictReader(io.StringIO(day_part)))
    assert {(r["province"], r["province_km"]) for r in rows} >= {("Prey Veng", "ព្រៃវែង")}
    assert _rows_by_key(rows) == flow.EXPECTED_ROWS
    assert not [r for r in rows if r["stale"]], "both checkpoints synced just now"
    rollup = {r["code"]: {m: int(r[m]) for m in flow.Z} for r in csv.DictReader(io.StringIO(rollup_part))}
    assert rollup == {code: {m: v[m] for m in flow.Z} for code, v in flow.EXPECTED_ROLLUP.items()}

    dashboard.runtime.clock.advance(timedelta(hours=6.5))  # past the 6 hours without a sync
    response = await dashboard.client.get("/reports/daily.csv", params=WEEK, headers=NATIONAL)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig").split("\r\n\r\n")[0])))
    assert sorted(r["checkpoint_id"] for r in rows if r["stale"]) == ["KH-TH-01"] * 9 + ["KH-TH-09"] * 2
    page = await dashboard.client.get("/reports/daily.html", params=WEEK | {"lang": "km"}, headers=NATIONAL)
    assert page.status_code == 200
    assert "របាយការណ៍ស្ថានការណ៍ប្រចាំថ្ងៃ" in page.text
    assert page.text.count('<tr class="stale"') == 11


async def test_the_map_places_every_commune_of_the_area_with_its_figures(dashboard):
    from shared.geo.gazetteer import load_gazetteer

    gazetteer = load_gazetteer()
    battambang = {
        c.code
        for d in gazetteer.districts_of("02")
        for c in gazetteer.communes_of(d.code)
        if gazetteer.point(c.code) or gazetteer.point(d.code)
    }
    points = {p["code"]: p for p in await _get(dashboard, "/stats/map", area="02")}
    assert set(points) == battambang and len(battambang) > 100  # the quiet communes are drawn too
    # Most communes have no point in the gazetteer: those sit around their district's, and say so.
    assert {c for c, p in points.items() if p["approximate"]} == {
        c for c in battambang if not gazetteer.point(c)
    }
    assert (points["020101"]["received"], points["020102"]["received"]) == (3, 1)
    assert sum(p["received"] for p in points.values()) == 4
    placed = min(c for c in battambang if gazetteer.point(c))
    assert (points[placed]["lat"], points[placed]["lon"]) == gazetteer.point(placed)

    district = bearer(("district_officer", "0201"))
    mine = await _get(dashboard, "/stats/map", district, area="0201")
    assert mine and all(p["code"].startswith("0201") for p in mine)
    assert (
        await dashboard.client.get("/stats/map", params={"area": "0202"}, headers=district)
    ).status_code == 404
    assert (
        await dashboard.client.get("/stats/map", params={"area": "14"}, headers=BATTAMBANG)
    ).status_code == 404
    assert [p["code"] for p in await _get(dashboard, "/stats/map", area="020101")] == ["020101"]
    assert {p["code"][:2] for p in await _get(dashboard, "/stats/map", BATTAMBANG)} == {"02"}  # its own only
    assert (
        await dashboard.client.get("/stats/map", params={"area": "99"}, headers=NATIONAL)
    ).status_code == 422


async def test_the_pdf_report_is_a4_in_khmer_set_in_a_khmer_font(dashboard):
    pypdf = pytest.importorskip("pypdf")
    params = WEEK | {"lang": "km"}
    response = await dashboard.client.get("/reports/daily.pdf", params=params, headers=NATIONAL)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    pdf = pypdf.PdfReader(io.BytesIO(response.content))
    width, height = (round(float(v) * 25.4 / 72) for v in pdf.pages[0].mediabox[2:])
    assert (width, height) == (297, 210), "A4 landscape, in mm"
    fonts = {
        str(font["/BaseFont"])
        for page in pdf.pages
        for font in page["/Resources"]["/Font"].values()
        if "/BaseFont" in font.get_object()
    }
    assert any("Khmer" in f for f in fonts), fonts  # not a fallback font drawing boxes
    text = "".join(page.extract_text() for page in pdf.pages)
    assert sum("\u1780" <= ch <= "\u17ff" for ch in text) > 50, "the headings and names are in Khmer script"
    for figure in ("KH-TH-01", "KH-TH-09", "020101"):
        assert figure in text

    english = await dashboard.client.get("/reports/daily.pdf", params=WEEK | {"lang": "en"}, headers=NATIONAL)
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(english.content)).pages)
    assert "Daily situation report" in text and "Prey Veng" in text

    outside = await dashboard.client.get("/reports/daily.pdf", params={"area": "14"}, headers=BATTAMBANG)
    assert outside.status_code == 404
    bad = await dashboard.client.get("/reports/daily.pdf", params={"lang": "th"}, headers=NATIONAL)
    assert bad.status_code == 422


async def test_rebuilding_from_the_topics_gives_the_same_figures(dashboard):
    before = await _figures(dashboard)
    response = await dashboard.client.post("/admin/rebuild", headers=NATIONAL)
    assert response.status_code == 200
    assert response.json()["removed_returnees"] == 5

    async def same_again():
        return await _figures(dashboard) == before

    await wait_until(same_again, timeout=40, interval=0.5, what="the rebuilt read model to match")
    await wait_until(
        lambda: _processed(dashboard) == len(flow.script()), what="the replay to read every event"
    )


async def test_a_rebuild_shows_its_progress_until_the_replay_is_done(dashboard, monkeypatch):
    idle = {"rebuilding": False, "events_behind": 0}
    assert await _get(dashboard, "/rebuild/progress", BATTAMBANG) == idle
    rt = dashboard.runtime
    start, held = rt.start_consumer, []
    monkeypatch.setattr(rt, "start_consumer", held.append)  # the replay waits until the test lets it go
    assert (await dashboard.client.post("/admin/rebuild", headers=NATIONAL)).status_code == 200

    behind = await _get(dashboard, "/rebuild/progress", BATTAMBANG)
    assert behind == {"rebuilding": True, "events_behind": len(flow.script())}
    monkeypatch.undo()
    for subscription in held:
        start(subscription)

    async def done():
        return await _get(dashboard, "/rebuild/progress", BATTAMBANG) == idle

    await wait_until(done, timeout=40, interval=0.5, what="the replay reported done")
    assert (await dashboard.client.get("/rebuild/progress")).status_code == 401


async def test_a_province_sees_only_its_own_returnees(dashboard):
    battambang = await _get(dashboard, "/stats/summary", BATTAMBANG, area="02")
    assert battambang["totals"]["received"] == 4
    assert battambang["sex"] == {"F": 1, "M": 2, "X": 1}
    # Asking for the nation gives a provincial user their province, never Prey Veng's returnee.
    assert (await _get(dashboard, "/stats/summary", BATTAMBANG))["totals"] == battambang["totals"]
    report = await _get(dashboard, "/reports/daily", BATTAMBANG, **WEEK)
    assert {r["province_code"] for r in report["rows"]} == {"02"}
    assert {a["code"] for a in report["rollup"]} == {"02", "0201", "020101", "020102"}
    assert report["rollup"][0]["received"] == 4
    assert {a["code"] for a in await _get(dashboard, "/stats/areas", BATTAMBANG)} == {"02"}
    checkpoints = {
        c["checkpoint_id"]: c["registrations"]
        for c in await _get(dashboard, "/stats/checkpoints", BATTAMBANG)
    }
    assert checkpoints["KH-TH-01"] == 3  # Prey Veng's returnee crossed there too, and is not counted

    for path in ("/stats/summary", "/stats/areas", "/reports/daily", "/reports/daily.csv", "/stats/arrivals"):
        response = await dashboard.client.get(path, params={"area": "14"}, headers=BATTAMBANG)
        assert response.status_code == 404, path
    prey_veng = await _get(dashboard, "/stats/summary", PREY_VENG, area="14")
    assert prey_veng["totals"]["received"] == 1

    commune = await _get(dashboard, "/stats/summary", bearer(("commune_chief", "020102")))
    assert commune["totals"]["received"] == 1
    district = await _get(dashboard, "/stats/summary", bearer(("district_officer", "0201")), area="0201")
    assert district["totals"]["received"] == 4


async def test_access_rules_and_bad_input(dashboard):
    client = dashboard.client
    assert (await client.get("/stats/summary")).status_code == 401
    officer = bearer(("checkpoint_officer", "KH-TH-01"))
    assert (await client.get("/stats/summary", headers=officer)).status_code == 403
    assert (await client.post("/admin/rebuild", headers=BATTAMBANG)).status_code == 403
    bad = await client.get("/stats/summary", params={"area": "99"}, headers=NATIONAL)
    assert bad.status_code == 422 and "area" in bad.text
    too_long = await client.get(
        "/reports/daily", params={"since": "2026-01-01", "until": "2026-12-01"}, headers=NATIONAL
    )
    assert too_long.status_code == 422 and "since" in too_long.text
    assert (await client.get("/dashboard/config.json")).json()["refresh_seconds"] > 0
    page = await client.get("/dashboard/")
    assert page.status_code == 200 and "chart.umd.min.js" in page.text
    assert (await client.get("/dashboard/vendor/chart.umd.min.js")).status_code == 200
