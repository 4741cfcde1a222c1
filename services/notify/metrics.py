"""Notify's own Prometheus metrics: deliveries by state, and the SMS gateway's queues."""

import re

from prometheus_client import Gauge

DELIVERIES = Gauge(
    "border_notify_deliveries", "Notify deliveries stored, by channel and state", ["channel", "state"]
)
KANNEL_QUEUE = Gauge(
    "border_kannel_queue_messages", "Messages queued in Kannel's bearerbox, by queue", ["queue"]
)
# Labelled so that a notify without a status URL exports nothing here rather than a false "down".
KANNEL_UP = Gauge(
    "border_kannel_up", "1 when the SMS gateway's status page answered at the last scrape", ["gateway"]
)


_KANNEL_SMS = re.compile(
    r"^SMS: received \d+ \((\d+) queued\), sent \d+ \((\d+) queued\), store size (-?\d+)", re.M
)
_KANNEL_DLR = re.compile(r"^DLR: (\d+) queued", re.M)


def parse_kannel_status(text: str) -> dict[str, int]:
    """Queue lengths from bearerbox's `status.txt`: inbound, outbound, store and delivery reports."""
    queues = {}
    if m := _KANNEL_SMS.search(text):
        queues |= {"inbound": int(m[1]), "outbound": int(m[2]), "store": max(int(m[3]), 0)}
    if m := _KANNEL_DLR.search(text):
        queues["dlr"] = int(m[1])
    return queues
