"""Reading a service's /metrics the way Prometheus does."""

from prometheus_client.parser import text_string_to_metric_families


async def scrape(service) -> str:
    r = await service.client.get("/metrics")
    assert r.status_code == 200, r.text
    return r.text


def samples(text: str, name: str, **labels: str) -> list:
    """The samples called `name` whose labels include `labels`."""
    return [
        s
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def value(text: str, name: str, **labels: str) -> float | None:
    """The sum of the matching samples' values; None when there is none."""
    found = samples(text, name, **labels)
    return sum(s.value for s in found) if found else None
