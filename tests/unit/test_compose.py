"""docker-compose.yml cannot run here (no Docker engine), so it is checked by reading it against the code."""

import importlib
import os
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import yaml

from tests.conftest import PROD

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
GLOBAL_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "JWT_JWKS_URL",
    "JWT_REVOCATIONS_URL",
    "BORDER_ENV",
    "CLOCK_SPEED",
    "METRICS_TOKEN",
}
# Compose's interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}.
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|TOKEN")


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


def test_no_secret_has_a_default_compose_would_start_with():
    variables = [m.groupdict() for m in VARIABLE.finditer(COMPOSE_TEXT)]
    secrets = [v for v in variables if SECRET_NAME.search(v["name"])]

    assert {v["name"] for v in secrets} >= {
        "POSTGRES_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "KANNEL_ADMIN_PASSWORD",
        "KANNEL_SEND_PASSWORD",
        "KANNEL_INBOUND_SECRET",
        "IDENTITY_SIGNING_KEY",
        "METRICS_TOKEN",
    }
    assert [v for v in secrets if v["op"] not in (":?", "?")] == [], (
        "a secret with a default or none required"
    )
    assert "JWT_KEY" not in COMPOSE_TEXT  # the services fetch identity's public keys instead
    for line in COMPOSE_TEXT.splitlines():  # and no secret written in the file itself
        key, _, value = line.strip().partition(":")
        if SECRET_NAME.search(key) and value.strip():
            assert value.strip().startswith("${"), line


def test_compose_runs_in_production_mode_with_identity_keys_and_kannel_secrets():
    env = COMPOSE["x-service"]["environment"]
    assert env["BORDER_ENV"] == "${BORDER_ENV:-prod}"
    assert env["JWT_JWKS_URL"] == "http://identity:8000/.well-known/jwks.json"
    assert env["JWT_REVOCATIONS_URL"] == "http://identity:8000/auth/revocations"
    kannel, notify = (
        COMPOSE["services"]["kannel"]["environment"],
        COMPOSE["services"]["notify"]["environment"],
    )
    for shared in ("SEND_PASSWORD", "INBOUND_SECRET"):
        assert kannel[f"KANNEL_{shared}"] == notify[f"NOTIFY_KANNEL_{shared}"]
    assert notify["NOTIFY_KANNEL_CALLBACK_ALLOW"] == '["kannel"]'
    assert "metrics_token" in COMPOSE["services"]["prometheus"]["secrets"]


def test_secrets_script_writes_every_secret_compose_requires_once(tmp_path):
    for part in ("deploy/secrets.sh", "deploy/lib.sh"):
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / part, tmp_path / part)
    env_file = tmp_path / ".env"
    env = {**os.environ, "PATH": os.environ["PATH"]}
    subprocess.run(["bash", "deploy/secrets.sh"], cwd=tmp_path, env=env, check=True, capture_output=True)
    first = env_file.read_text()
    subprocess.run(["bash", "deploy/secrets.sh"], cwd=tmp_path, env=env, check=True, capture_output=True)

    assert env_file.read_text() == first  # kept, not rotated behind the running containers' backs
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in first.splitlines())
    required = {m["name"] for m in VARIABLE.finditer(COMPOSE_TEXT) if m["op"] in (":?", "?")}
    assert required <= set(values)
    assert len({v for k, v in values.items() if k != "IDENTITY_SIGNING_KEY"}) == len(values) - 1
    from services.identity.settings import Settings

    issuer = Settings(
        **PROD | {"metrics_token": values["METRICS_TOKEN"].strip('"')},
        signing_key=values["IDENTITY_SIGNING_KEY"].strip('"'),
    )
    assert issuer.signing_config().algorithm == "EdDSA"


def test_the_https_origin_serves_every_service_on_its_own_port():
    caddyfile = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text()
    proxy = COMPOSE["services"]["proxy"]["environment"]
    for name, svc in python_services().items():
        (port,) = {p.split(":")[-1] for p in svc["ports"]}
        assert f"import api {name} {{$UPSTREAM_{name.upper()}}}" in caddyfile, name
        assert proxy[f"UPSTREAM_{name.upper()}"] == f"{name}:{port}"
    # Every page a service mounts is a route of the origin, with the service its API belongs to.
    pages = {
        "tablet": "intake",
        "quarantine": "quarantine",
        "transport": "transport",
        "dashboard": "dashboard",
    }
    for page, service in pages.items():
        assert f"import page {page} {service} {{$UPSTREAM_{service.upper()}}}" in caddyfile


def test_the_image_prints_khmer_like_the_local_install():
    """WeasyPrint's libraries and the Khmer font install.sh gives the local run are in the services' image
    too: without them the manifest and the daily report fail, or print boxes."""
    install = (ROOT / "deploy" / "install.sh").read_text()
    printing = set(re.findall(r"\b(libpango\S*|libharfbuzz\S*|fonts-\S+)", install))
    assert {"libpango-1.0-0", "fonts-khmeros"} <= printing
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    apt = re.search(r"apt-get install[^\n]*", dockerfile)
    assert apt, "the image installs no Debian packages"
    assert printing <= set(apt.group(0).split()), printing - set(apt.group(0).split())
