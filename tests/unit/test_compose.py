"""docker-compose.yml cannot run here (no Docker engine), so it is checked by reading it against the code."""

import importlib
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
GLOBAL_ENV = {"KAFKA_BOOTSTRAP_SERVERS", "JWT_KEY", "BORDER_ENV", "CLOCK_SPEED"}


def python_services() -> dict[str, dict]:
    return {
        name: svc
        for name, svc in COMPOSE["services"].items()
        if str(svc.get("command", "")).endswith(" serve")
    }


def test_every_service_package_is_deployed():
    packages = {p.parent.name for p in (ROOT / "services").glob("*/main.py")}
    assert packages == set(python_services())


def test_each_service_runs_its_own_entry_point_on_its_own_database():
    databases = set()
    for name, svc in python_services().items():
        assert svc["command"] == f"border-{name} serve"
        assert f"border-{name}" in SCRIPTS
        settings = importlib.import_module(f"services.{name}.settings").Settings
        prefix = settings.model_config["env_prefix"]
        env = svc["environment"]
        for key in env:
            if key in GLOBAL_ENV:
                continue
            assert key.startswith(prefix), f"{name}: {key} is not one of its settings"
            assert key.removeprefix(prefix).lower() in settings.model_fields, f"{name}: no setting for {key}"
        url = env[f"{prefix}DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url
        databases.add(url.rsplit("/", 1)[1])
        port = settings.model_fields["http_port"].default
        assert svc["ports"] == [f"{port}:{port}"]
    init = (ROOT / "deploy/postgres-init.sql").read_text()
    assert all(f"CREATE DATABASE {db};" in init for db in databases)
    assert len(databases) == len(python_services())


def test_official_images_and_topics_before_services():
    assert COMPOSE["services"]["kafka"]["image"].startswith("apache/kafka:4.")
    assert COMPOSE["services"]["postgres"]["image"].startswith("postgres:")
    assert COMPOSE["services"]["topics"]["command"] == "border-topics"
    for svc in python_services().values():
        assert svc["depends_on"]["topics"]["condition"] == "service_completed_successfully"
