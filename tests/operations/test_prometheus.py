"""The Prometheus configuration and alert rules are valid, fire when they should, and name real metrics."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import services.intake.metrics
import services.notify.metrics
import services.quarantine.metrics  # noqa: F401
import shared.metrics  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy/prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: `apt-get install prometheus` (deploy/install.sh --test)"
)


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False)


TOKEN_FILE = "/run/secrets/metrics_token"


@needs_promtool
def test_promtool_accepts_the_config_and_its_rules(tmp_path):
    # promtool insists the token file exists: check a copy reading a made-up one.
    (tmp_path / "token").write_text("scrape-token")
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path)
    config = (PROMETHEUS / "prometheus.yml").read_text().replace(TOKEN_FILE, str(tmp_path / "token"))
    (tmp_path / "prometheus.yml").write_text(config)
    result = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_accepts_the_rules():
    result = promtool("check", "rules", str(PROMETHEUS / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_alerts_fire_on_the_unit_test_series():
    result = promtool("test", "rules", str(Path(__file__).parent / "alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def _rules() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_every_metric_an_alert_reads_is_exported():
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
    exported = {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in ["", *suffixes.get(family.type, [])]
    }
    for rule in _rules():
        for name in re.findall(r"\bborder_\w+", rule["expr"]):
            assert name in exported, f"{rule['alert']} reads {name}, which no service exports"


def test_every_alert_is_documented_for_operators():
    guide = (ROOT / "docs/operations.md").read_text()
    for rule in _rules():
        assert f"`{rule['alert']}`" in guide, f"docs/operations.md says nothing about {rule['alert']}"


def test_every_service_is_scraped():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert jobs == {p.parent.name for p in (ROOT / "services").glob("*/main.py")}


def test_every_job_scrapes_with_the_token_file():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        auth = job.get("authorization")
        assert auth == {"credentials_file": TOKEN_FILE}, f"{job['job_name']} sends no token"
