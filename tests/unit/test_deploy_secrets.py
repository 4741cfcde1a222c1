"""The run and test commands make their own secrets: nothing they start accepts a credential printed in
the repository (issue 19)."""

import os
import stat
import subprocess
from pathlib import Path

from services.identity.settings import Settings as IdentitySettings
from tests.conftest import PROD

ROOT = Path(__file__).resolve().parents[2]
# What deploy/kannel.sh, services/notify/settings.py and services/identity/settings.py once defaulted to.
PRINTED = ("border-admin", "notify-secret", "kannel-inbound-secret", "demo-border-1007")
KANNEL_SECRETS = ("KANNEL_ADMIN_PASSWORD", "KANNEL_SEND_PASSWORD", "KANNEL_INBOUND_SECRET")


def _env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def _kannel_config(run_dir: Path, **given: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in KANNEL_SECRETS} | {"KANNEL_RUN_DIR": str(run_dir)}
    return subprocess.run(
        ["bash", "deploy/kannel.sh", "config"], cwd=ROOT, env=env | given, check=True, capture_output=True
    )


def test_kannel_generates_its_passwords_once_and_keeps_them(tmp_path):
    _kannel_config(tmp_path)
    secrets = _env_file(tmp_path / "secrets.env")
    _kannel_config(tmp_path)  # a restart

    assert set(secrets) == set(KANNEL_SECRETS)
    assert _env_file(tmp_path / "secrets.env") == secrets
    assert len(set(secrets.values())) == 3 and all(len(v) == 64 for v in secrets.values())
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600
    conf = (tmp_path / "kannel.conf").read_text()
    assert all(value in conf for value in secrets.values())
    assert not any(printed in conf for printed in PRINTED)


def test_kannel_takes_given_passwords_and_records_them_for_notify(tmp_path):
    _kannel_config(tmp_path, KANNEL_SEND_PASSWORD="given-by-the-operator")

    secrets = _env_file(tmp_path / "secrets.env")
    assert secrets["KANNEL_SEND_PASSWORD"] == "given-by-the-operator"
    assert 'password = "given-by-the-operator"' in (tmp_path / "kannel.conf").read_text()


def _lib(script: str, cwd: Path) -> str:
    command = f"source {ROOT}/deploy/lib.sh; {script}"
    return subprocess.run(["bash", "-c", command], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_the_run_commands_secret_files_are_made_once_mode_600(tmp_path):
    key, password = tmp_path / "secrets/identity-signing-key.pem", tmp_path / "secrets/demo-password"
    make = (
        f"ensure_secret_file {key} {ROOT}/.venv/bin/border-identity keys generate; "
        f"ensure_secret_file {password} new_password"
    )
    _lib(make, tmp_path)
    first = key.read_text(), password.read_text()
    _lib(make, tmp_path)

    assert (key.read_text(), password.read_text()) == first
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (key, password))
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    issuer = IdentitySettings(**PROD, signing_key_file=key, demo_password=password.read_text())
    assert issuer.signing_config().algorithm == "EdDSA" and password.read_text() not in PRINTED


def test_notify_is_given_the_credentials_of_the_kannel_that_runs(tmp_path):
    _kannel_config(tmp_path)
    secrets = _env_file(tmp_path / "secrets.env")

    out = _lib(
        f"export_notify_kannel_secrets {tmp_path}/secrets.env; "
        'echo "$NOTIFY_KANNEL_SEND_PASSWORD $NOTIFY_KANNEL_INBOUND_SECRET $NOTIFY_KANNEL_STATUS_PASSWORD"',
        tmp_path,
    )

    assert out.split() == [
        secrets[k] for k in ("KANNEL_SEND_PASSWORD", "KANNEL_INBOUND_SECRET", "KANNEL_ADMIN_PASSWORD")
    ]
    run_sh, test_sh = (ROOT / "deploy/run.sh").read_text(), (ROOT / "deploy/test.sh").read_text()
    assert "export_notify_kannel_secrets" in run_sh and "export_notify_kannel_secrets" in test_sh
