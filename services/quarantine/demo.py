"""Demo quarantine sites for the local run: two or three in each of the seven border provinces.

Positions and capacities are invented for the demo (near the crossings of `border_checkpoints.csv`).
"""

from datetime import datetime

from services.quarantine.handlers import Uow
from services.quarantine.models import Facility, Supply

CENTRE_KM = "មណ្ឌលចត្តាឡីស័ក"
MOTHERS = ["child", "infant", "pregnant"]

# (id, province, place in Latin letters, in Khmer, lat, lon, beds, special care offered)
SITES = [
    ("QF-01-1", "01", "Poipet", "ប៉ោយប៉ែត", 13.655, 102.548, 200, [*MOTHERS, "elderly"]),
    ("QF-01-2", "01", "Ou Chrov", "អូរជ្រៅ", 13.731, 102.722, 120, ["child", "ill"]),
    ("QF-01-3", "01", "Malai", "ម៉ាឡៃ", 13.561, 102.380, 80, []),
    ("QF-02-1", "02", "Kamrieng", "កំរៀង", 13.101, 102.482, 120, MOTHERS),
    ("QF-02-2", "02", "Sampov Lun", "សំពៅលូន", 13.422, 102.525, 100, ["ill", "elderly"]),
    ("QF-09-1", "09", "Khemarak Phoumin", "ខេមរភូមិន្ទ", 11.617, 102.982, 100, [*MOTHERS, "ill"]),
    ("QF-09-2", "09", "Mondol Seima", "មណ្ឌលសីមា", 11.572, 102.951, 60, []),
    ("QF-13-1", "13", "Choam Ksant", "ជាំក្សាន្ត", 14.210, 104.930, 60, MOTHERS),
    ("QF-13-2", "13", "Preah Vihear", "ព្រះវិហារ", 13.805, 104.975, 80, ["ill", "elderly"]),
    ("QF-15-1", "15", "Veal Veaeng", "វាលវែង", 12.236, 103.120, 60, ["child", "ill"]),
    ("QF-15-2", "15", "Pursat", "ពោធិ៍សាត់", 12.538, 103.919, 80, ["infant", "pregnant", "elderly"]),
    ("QF-22-1", "22", "Samraong", "សំរោង", 14.181, 103.517, 150, [*MOTHERS, "ill"]),
    ("QF-22-2", "22", "Ou Smach", "អូរស្មាច់", 14.410, 103.690, 100, []),
    ("QF-22-3", "22", "Anlong Veaeng", "អន្លង់វែង", 14.231, 104.080, 80, ["elderly", "disability"]),
    ("QF-24-1", "24", "Pailin", "ប៉ៃលិន", 12.849, 102.609, 80, [*MOTHERS, "ill"]),
    ("QF-24-2", "24", "Sala Krau", "សាលាក្រៅ", 13.003, 102.664, 50, []),
]

# (item, unit, quantity, low threshold); one site starts low on medicine so the warning shows.
STOCK = [("food", "meals", 2000, 300), ("water", "litres", 5000, 1000), ("medicine", "packs", 300, 50)]
LOW_ON_MEDICINE = "QF-22-2"


def demo_facilities(now: datetime) -> list[Facility]:
    return [
        Facility(
            id=id_,
            province_code=province,
            name_en=f"{place} quarantine centre",
            name_km=f"{CENTRE_KM}{place_km}",
            lat=lat,
            lon=lon,
            capacity=beds,
            occupancy=0,
            special_care=list(care),
            created_at=now,
        )
        for id_, province, place, place_km, lat, lon, beds, care in SITES
    ]


async def add_sites(uow: Uow) -> int:
    """Add the demo sites and their stock that are missing; returns how many sites were added."""
    session, now = uow.session, uow.now()
    added = 0
    for facility in demo_facilities(now):
        if await session.get(Facility, facility.id) is not None:
            continue
        session.add(facility)
        for item, unit, quantity, low in STOCK:
            if facility.id == LOW_ON_MEDICINE and item == "medicine":
                quantity = low // 2
            session.add(
                Supply(
                    facility_id=facility.id,
                    item=item,
                    unit=unit,
                    quantity=quantity,
                    low_threshold=low,
                    updated_at=now,
                )
            )
        added += 1
    return added
