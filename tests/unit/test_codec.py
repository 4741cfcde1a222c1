"""CloudEvents binary mode: what goes on the wire and what a consumer refuses."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from shared.contracts import REGISTRY, event_class
from shared.contracts.intake import ReturneeRegistered
from shared.contracts.transport import ManifestDispatched, Passenger
from shared.messaging.codec import PoisonMessage, decode, encode
from tests import factories


def registered(**overrides) -> ReturneeRegistered:
    return factories.registered(arrived_at=datetime(2026, 11, 25, 3, 0, tzinfo=UTC), **overrides)


def test_binary_mode_headers_key_and_round_trip():
    event = registered()
    message = encode(event, source="/border/intake", correlation_id="corr-1")
    assert message.key == str(event.returnee_id)
    assert message.headers["ce_type"] == b"kh.gov.border.returnee.registered.v1"
    assert message.headers["ce_source"] == b"/border/intake"
    assert message.headers["ce_specversion"] == b"1.0"
    assert message.headers["ce_partitionkey"] == str(event.returnee_id).encode()
    assert message.headers["content-type"] == b"application/json"
    envelope, decoded = decode(message.headers, message.key.encode(), message.value)
    assert decoded == event
    assert envelope.correlation_id == "corr-1"
    assert envelope.source == "/border/intake"


def test_khmer_names_survive_the_wire():
    message = encode(registered(name_km="ស្រីពៅ"), source="/t")
    _, decoded = decode(message.headers, None, message.value)
    assert decoded.name_km == "ស្រីពៅ"


def test_a_manifest_is_keyed_by_manifest_not_passenger():
    manifest = ManifestDispatched(
        manifest_id=uuid4(),
        destination_province_code="14",
        vehicle_plate="BMC-1234",
        dispatched_at=datetime.now(UTC),
        expected_arrival=datetime.now(UTC),
        passengers=[Passenger(returnee_id=uuid4(), home_village_code="14010101")],
    )
    assert encode(manifest, source="/t").key == str(manifest.manifest_id)


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        ({}, b"{}", "undecodable"),
        (
            {"ce_id": b"1", "ce_source": b"/t", "ce_specversion": b"1.0", "ce_type": b"nobody.v1"},
            b"{}",
            "unknown_type",
        ),
        (
            {
                "ce_id": b"1",
                "ce_source": b"/t",
                "ce_specversion": b"1.0",
                "ce_type": b"kh.gov.border.returnee.registered.v1",
                "content-type": b"application/json",
            },
            b'{"returnee_id": "x"}',
            "invalid_payload",
        ),
        (
            {
                "ce_id": b"1",
                "ce_source": b"/t",
                "ce_specversion": b"1.0",
                "ce_type": b"kh.gov.border.returnee.registered.v1",
                "content-type": b"application/json",
            },
            b"{not json",
            "undecodable",
        ),
    ],
)
def test_poison_is_named(headers, value, reason):
    with pytest.raises(PoisonMessage) as caught:
        decode(headers, None, value)
    assert caught.value.reason == reason


def test_invalid_payload_names_fields_not_values():
    message = encode(registered(), source="/t")
    bad = message.value.replace(b'"14010101"', b'"99999999x"')
    with pytest.raises(PoisonMessage) as caught:
        decode(message.headers, None, bad)
    assert caught.value.detail == "home_village_code"
    assert "99999999x" not in str(caught.value)


def test_every_contract_is_versioned_and_has_a_topic():
    event_class("load")  # loads every contract module
    assert REGISTRY
    for type_, cls in REGISTRY.items():
        if ".test." in type_:
            continue
        assert type_.startswith("kh.gov.border.") and type_.rsplit(".", 1)[1].startswith("v"), type_
        assert cls.topic.endswith(".v1"), cls
