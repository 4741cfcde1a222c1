"""Tests for the shipped NCDD gazetteer and border checkpoint lookup."""

import pytest

from shared.geo.gazetteer import (
    DEFAULT_DATA_DIR,
    Gazetteer,
    commune_of,
    district_of,
    load_gazetteer,
    province_of,
)

# A real Prey Veng village: Angkrong, Boeng Preah commune, Ba Phnum district.
PREY_VENG_VILLAGE = "14010101"


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


def test_load_is_cached_and_uses_packaged_data(gaz):
    assert load_gazetteer() is gaz
    assert DEFAULT_DATA_DIR.parts[-3:] == ("geo", "data", "cambodia")
    assert (DEFAULT_DATA_DIR / "ATTRIBUTION.md").is_file()


def test_counts(gaz):
    provinces = gaz.provinces()
    districts = [d for p in provinces for d in gaz.districts_of(p.code)]
    communes = [c for d in districts for c in gaz.communes_of(d.code)]
    villages = [v for c in communes for v in gaz.villages_of(c.code)]
    assert len(provinces) == 25
    assert len(districts) == 210
    assert len(communes) == 1652
    assert len(villages) == 14578
    assert len(gaz.checkpoints()) == 16


def test_children_are_in_code_order_and_belong_to_parent(gaz):
    districts = gaz.districts_of("01")
    assert [d.code for d in districts] == sorted(d.code for d in districts)
    assert all(d.province_code == "01" for d in districts)
    assert [c.code for c in gaz.communes_of("0110")] == ["011001", "011002", "011003", "011004", "011005"]
    assert gaz.districts_of("99") == ()


def test_every_village_resolves_to_a_consistent_chain(gaz):
    for province in gaz.provinces():
        for district in gaz.districts_of(province.code):
            for commune in gaz.communes_of(district.code):
                for village in gaz.villages_of(commune.code):
                    place = gaz.place(village.code)
                    assert place.commune.code == commune_of(village.code)
                    assert place.district.code == district_of(village.code)
                    assert place.province.code == province_of(village.code)


def test_poipet_checkpoint_is_in_banteay_meanchey(gaz):
    poipet = gaz.checkpoint("KH-TH-01")
    assert poipet is not None
    assert poipet.name_en == "Poipet"
    assert poipet.province_code == "01"
    assert gaz.province(poipet.province_code).name_en == "Banteay Meanchey"
    assert gaz.province("01").name_km == "បន្ទាយមានជ័យ"
    assert gaz.district(poipet.district_code).name_en == "Poipet"
    assert poipet.lat == pytest.approx(13.65973)
    assert poipet.lon == pytest.approx(102.562269)


def test_checkpoints_point_at_real_units(gaz):
    ids = [c.id for c in gaz.checkpoints()]
    assert ids == [f"KH-TH-{n:02d}" for n in range(1, 17)]
    for cp in gaz.checkpoints():
        assert gaz.province(cp.province_code) is not None
        if cp.district_code:
            assert gaz.district(cp.district_code).province_code == cp.province_code
        if cp.commune_code:
            assert gaz.commune(cp.commune_code).district_code == cp.district_code
        if cp.village_code:
            assert gaz.village(cp.village_code).commune_code == cp.commune_code
    thma_puok = gaz.checkpoint("KH-TH-06")
    assert thma_puok.lat is None and thma_puok.lon is None and thma_puok.district_code == ""
    assert gaz.checkpoint("KH-TH-99") is None


def test_prey_veng_village_resolves_with_khmer_names(gaz):
    village = gaz.village(PREY_VENG_VILLAGE)
    assert village is not None
    assert (village.name_en, village.name_km) == ("Angkrong", "អង្រ្កង")
    place = gaz.place(PREY_VENG_VILLAGE)
    assert (place.commune.code, place.commune.name_km) == ("140101", "បឹងព្រះ")
    assert (place.district.code, place.district.name_km) == ("1401", "បាភ្នំ")
    assert (place.province.code, place.province.name_km) == ("14", "ព្រៃវែង")
    assert place.province.name_en == "Prey Veng"


def test_label_in_khmer_and_english(gaz):
    place = gaz.place(PREY_VENG_VILLAGE)
    assert place.label("km") == "អង្រ្កង, បឹងព្រះ, បាភ្នំ, ព្រៃវែង"
    assert place.label("en") == "Angkrong, Boeng Preah, Ba Phnum, Prey Veng"
    with pytest.raises(ValueError):
        place.label("th")


def test_prefix_helpers():
    assert commune_of("01100310") == "011003"
    assert district_of("01100310") == "0110"
    assert province_of("01100310") == "01"
    assert district_of("011003") == "0110"
    assert province_of("0110") == "01"


@pytest.mark.parametrize("code", ["123", "abcdefgh", "", "0110031", "011003100", "០១១០", " 0110"])
def test_prefix_helpers_reject_bad_codes(code):
    for helper in (commune_of, district_of, province_of):
        with pytest.raises(ValueError):
            helper(code)


def test_prefix_helpers_reject_codes_shorter_than_the_parent():
    with pytest.raises(ValueError):
        commune_of("0110")
    with pytest.raises(ValueError):
        district_of("01")


def test_unknown_codes(gaz):
    assert gaz.village("99999999") is None
    assert gaz.is_village("99999999") is False
    assert gaz.is_village("011003") is False  # a commune code is not a village
    assert gaz.is_village("01100310") is True
    assert gaz.commune("999999") is None
    assert gaz.district("9999") is None
    assert gaz.province("99") is None
    with pytest.raises(KeyError):
        gaz.place("99999999")


def test_search_by_khmer_substring_filtered_by_province(gaz):
    found = gaz.search_villages("អង្គ្រង", province_code="14")
    assert {v.code for v in found} == {"14020126", "14020311", "14020312", "14030309", "14050108"}
    everywhere = gaz.search_villages("អង្គ្រង", limit=100)
    assert any(v.province_code != "14" for v in everywhere)
    assert all("អង្គ្រង" in v.name_km for v in everywhere)


def test_search_by_latin_substring_is_case_insensitive_and_filtered(gaz):
    found = gaz.search_villages("ANGKRONG", province_code="14")
    codes = [v.code for v in found]
    assert PREY_VENG_VILLAGE in codes
    assert "14020126" in codes  # Tuol Angkrong: an infix match
    assert all(v.province_code == "14" for v in found)
    assert "02060502" not in codes  # Angkrong in Battambang
    assert "02060502" in [v.code for v in gaz.search_villages("angkrong", limit=100)]


def test_search_ranks_prefix_matches_first_and_respects_limit(gaz):
    found = gaz.search_villages("angkrong", province_code="14")
    names = [v.name_en for v in found]
    assert names[0].startswith("Angkrong")
    assert names[-1] == "Tuol Angkrong"
    assert len(gaz.search_villages("a", limit=5)) == 5
    assert gaz.search_villages("   ") == []
    assert gaz.search_villages("angkrong", province_code="99") == []
