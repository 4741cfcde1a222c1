"""Intake's own Prometheus metrics; labels are checkpoints and policies, never a person."""

from prometheus_client import Counter

REGISTRATIONS = Counter(
    "border_registrations_total", "Returnees registered, by checkpoint and policy", ["checkpoint", "policy"]
)
