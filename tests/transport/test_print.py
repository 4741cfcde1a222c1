"""The driver's paper manifest (GET /manifests/{id}.pdf) read back with pypdf; scoped and audited."""

import io
import re
from uuid import uuid4

from pypdf import PdfReader

from tests.conftest import bearer
from tests.transport.conftest import ADMIN, OFFICER_01, PHNOM_PENH, registered
from tests.transport.test_transfers import confirm_and_dispatch, propose

DRIVER, ESCORT = "សួស វណ្ណា", "Keo Dara"


def flat(text: str) -> str:
    """pypdf puts spaces inside Khmer clusters (around subscripts and vowels): compare without any.

    Its text is the PDF's per-glyph map, which WeasyPrint fills with the text a glyph was first drawn for:
    a vowel drawn before its consonant (េ ោ ៅ) makes that consonant read back with the vowel later on.
    The printed page is right; a name checked here is one of those pypdf reads back faithfully."""
    return re.sub(r"\s+", "", text)


async def _manifest_with_a_household(transport, feed) -> tuple[dict, list]:
    r = await transport.client.post(
        "/vehicles",
        json={
            "plate": "2B-7788",
            "seats": 12,
            "driver": DRIVER,
            "escort": ESCORT,
            "origin_province_code": "01",
        },
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    family = uuid4()
    people = [
        registered(PHNOM_PENH, household=family, care=("infant",)),
        registered(PHNOM_PENH, household=family),
        registered(PHNOM_PENH),
    ]
    people[0] = people[0].model_copy(update={"name_km": "ចាន់ ដារ៉ា", "name_latin": "Chan Dara"})
    people[1] = people[1].model_copy(update={"name_km": "ចាន់ សុភា", "name_latin": "Chan Sophea"})
    await feed.released(*people)
    [manifest] = (await propose(transport.client))["manifests"]
    return manifest, people


async def _pdf_text(response) -> str:
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


async def test_the_pdf_carries_vehicle_driver_passengers_by_household_and_supplies(transport, feed):
    manifest, _ = await _manifest_with_a_household(transport, feed)
    url = f"/manifests/{manifest['id']}"
    r = await transport.client.put(
        f"{url}/supplies", json={"food_rations": 3, "water_litres": 6}, headers=OFFICER_01
    )
    assert r.status_code == 200 and r.json()["supply_gaps"] == ["medicine"]

    r = await transport.client.get(f"{url}.pdf", headers=OFFICER_01)

    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "no-store"
    assert "attachment" in r.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(r.content))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)  # A4
    text = await _pdf_text(r)
    assert "2B-7788" in text and ESCORT in text
    assert flat(DRIVER) in flat(text)
    assert flat("ចាន់ ដារ៉ា") in flat(text) and "Chan Dara" in text
    assert "Phnom Penh" in text and "Banteay" in text
    # The household is one group, numbered, with its size; the third passenger travels alone.
    assert "Household 1 · 2 people" in text and flat("គ្រួសារទី ១") in flat(text)
    assert "Household 2" not in text and "Travelling alone" in text
    household = text.index("Household 1")
    assert household < text.index("Chan Dara") < text.index("Travelling alone")
    assert household < text.index("Chan Sophea") < text.index("Travelling alone")
    assert "Food rations" in text and "no medicine kit" in text and "infant" in text
    assert "3 passengers" in text


async def test_the_destination_reads_it_and_the_hand_over_shows_on_it(transport, feed):
    manifest, people = await _manifest_with_a_household(transport, feed)
    await confirm_and_dispatch(transport.client, manifest["id"], duration_minutes=90)
    destination = bearer(("transport_officer", "12"), subject="officer-pp")
    for person, outcome in ((people[0], "handed_over"), (people[2], "missing")):
        r = await transport.client.post(
            f"/manifests/{manifest['id']}/arrivals",
            json={"returnee_id": str(person.returnee_id), "outcome": outcome},
            headers=destination,
        )
        assert r.status_code == 200, r.text

    r = await transport.client.get(f"/manifests/{manifest['id']}.pdf", headers=destination)

    assert r.status_code == 200
    text = await _pdf_text(r)
    assert "handed over" in text and "missing" in text and "dispatched" in text


async def test_another_province_gets_404_and_the_print_is_audited(transport, feed):
    manifest, people = await _manifest_with_a_household(transport, feed)
    url = f"/manifests/{manifest['id']}.pdf"
    for outsider in (
        bearer(("transport_officer", "03"), subject="officer-kc"),
        bearer(("provincial_wg", "14"), subject="pwg-14"),
    ):
        r = await transport.client.get(url, headers=outsider)
        assert r.status_code == 404, r.text
        assert r.json() == (await transport.client.get(f"/manifests/{uuid4()}.pdf", headers=outsider)).json()
    assert (await transport.client.get("/manifests/not-an-id.pdf", headers=OFFICER_01)).status_code == 422

    reader = bearer(("provincial_wg", "12"), subject="pwg-12")
    assert (await transport.client.get(url, headers=reader)).status_code == 200
    trail = await transport.client.get("/audit", params={"subject": "pwg-12"}, headers=ADMIN)
    assert trail.status_code == 200
    rows = sorted((e["action"], e["object_id"], e["route"]) for e in trail.json()["items"])
    assert rows == sorted(("read", str(p.returnee_id), "GET /manifests/{manifest_id}.pdf") for p in people)
    for outsider in ("officer-kc", "pwg-14"):
        trail = await transport.client.get("/audit", params={"subject": outsider}, headers=ADMIN)
        assert trail.json()["items"] == [], "a refused print shows no one, so it records no one"


def test_names_are_text_on_the_page_never_markup():
    from datetime import UTC, datetime

    from services.transport.handlers import ManifestView
    from services.transport.models import Manifest, Transfer, Vehicle
    from services.transport.printing import manifest_html

    now = datetime.now(UTC)
    vehicle = Vehicle(
        plate="2B-1", seats=4, driver="<b>D</b>", escort="E", origin_province="01", registered_at=now
    )
    manifest = Manifest(
        vehicle_id=vehicle.id, origin_province="01", destination_province="12", created_at=now, supplies={}
    )
    passenger = Transfer(
        returnee_id=uuid4(),
        home_village_code=PHNOM_PENH,
        destination_province="12",
        destination_district="1201",
        name_latin='<img src="x" onerror="alert(1)">',
        stage="assigned",
        updated_at=now,
    )

    html = manifest_html(ManifestView(manifest, vehicle, [passenger]), now)

    assert "<img" not in html and "&lt;img" in html
    assert "<b>D</b>" not in html and "&lt;b&gt;D&lt;/b&gt;" in html
