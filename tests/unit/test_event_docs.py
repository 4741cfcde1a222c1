"""docs/events/ (AsyncAPI and JSON Schemas) is generated from the contracts and kept current."""

from shared.contracts.schemas import OUT, asyncapi, contracts, render


def test_committed_event_docs_match_the_contracts():
    stale = [
        str(p.relative_to(OUT)) for p, text in render().items() if not p.exists() or p.read_text() != text
    ]
    extra = {p for p in (OUT / "schemas").glob("*.json")} - set(render())
    assert not stale and not extra, (
        f"run `python -m shared.contracts.schemas`: stale {stale}, extra {sorted(map(str, extra))}"
    )


def test_every_contract_is_on_a_channel():
    doc = asyncapi()
    listed = {m["name"] for m in doc["components"]["messages"].values()}
    assert listed == set(contracts())
    for channel in doc["channels"].values():
        assert channel["messages"], f"{channel['address']} carries no message"
