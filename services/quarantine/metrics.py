"""Quarantine's own Prometheus metrics: beds and occupancy per facility."""

from prometheus_client import Gauge

FACILITY_OCCUPANCY = Gauge(
    "border_facility_occupancy_ratio", "Placed episodes over beds, by facility", ["province", "facility"]
)
FACILITY_CAPACITY = Gauge("border_facility_capacity", "Beds of a facility", ["province", "facility"])
