"""The Grafana board reads real metrics from the provisioned Prometheus, and compose mounts what it needs."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import services.intake.metrics
import services.notify.metrics
import services.quarantine.metrics  # noqa: F401
import shared.metrics  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy/grafana"
BOARD = json.loads((GRAFANA / "dashboards/border-operations.json").read_text())
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def exported() -> set[str]:
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
    return {f.name + s for f in REGISTRY.collect() for s in ["", *suffixes.get(f.type, [])]}


def targets() -> list[dict]:
    return [t for panel in BOARD["panels"] for t in panel.get("targets", [])]


def test_every_panel_reads_exported_metrics_from_the_provisioned_datasource():
    [datasource] = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())[
        "datasources"
    ]
    names = exported()
    assert targets()
    for target in targets():
        assert target["datasource"]["uid"] == datasource["uid"]
        for metric in re.findall(r"\bborder_\w+", target["expr"]):
            assert metric in names, f"the board reads {metric}, which no service exports"
    ids = [panel["id"] for panel in BOARD["panels"]]
    assert len(ids) == len(set(ids))


def test_the_board_shows_what_operators_watch():
    read = " ".join(t["expr"] for t in targets())
    for metric in (
        "border_registrations_total",
        "border_outbox_backlog",
        "border_consumer_lag",
        "border_events_dead_lettered_total",
        "border_notify_deliveries",
        "border_kannel_queue_messages",
        "border_facility_occupancy_ratio",
    ):
        assert metric in read, f"no panel shows {metric}"


def _mounts(service: str) -> dict[str, Path]:
    mounts = {}
    for volume in COMPOSE[service]["volumes"]:
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            mounts[target] = ROOT / source
    return mounts


def test_compose_provisions_prometheus_and_grafana():
    prometheus = _mounts("prometheus")
    assert (prometheus["/etc/prometheus"] / "prometheus.yml").is_file()
    assert "--config.file=/etc/prometheus/prometheus.yml" in COMPOSE["prometheus"]["command"]
    grafana = _mounts("grafana")
    assert grafana["/etc/grafana/provisioning"] == GRAFANA / "provisioning"
    [provider] = yaml.safe_load((GRAFANA / "provisioning/dashboards/border.yml").read_text())["providers"]
    assert grafana[provider["options"]["path"]] == GRAFANA / "dashboards"
    datasource = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
