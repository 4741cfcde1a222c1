"""The run command brings the system up on SQLite: every /readyz answers 200, and Ctrl-C or SIGTERM stops it.

The suite may itself run in the background with SIGINT ignored (nohup, `&`, CI runners), which its
children inherit: the run command must stop on Ctrl-C all the same.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import jwt
import pytest

# It starts the run command's own Kafka and Kannel: not for the fast tier, though it uses no fixture of them.
pytestmark = pytest.mark.broker

ROOT = Path(__file__).resolve().parents[2]
PORTS = {
    "identity": 8000,
    "intake": 8001,
    "quarantine": 8002,
    "transport": 8003,
    "notify": 8004,
    "dashboard": 8005,
}


def _port_open(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        return True
    except httpx.HTTPError:
        return False


def _once_printed_key_token() -> str:
    now = int(time.time())
    claims = {"iss": "border-return", "aud": "border-return", "sub": "mallory", "iat": now, "exp": now + 600}
    claims["roles"] = [{"role": "national_admin", "scope": "KH"}]
    return jwt.encode(claims, "dev-only-key-not-for-production-use-0000", algorithm="HS256")


def _only_generated_credentials_work(output: str) -> None:
    """The run made its own secrets: the demo password it printed logs in, and the token identity signs
    is taken by another service through identity's JWKS; the once-printed password and key are not."""
    password = (ROOT / ".run/secrets/demo-password").read_text().strip()
    assert password in output and "demo-border-1007" not in output
    login = "http://127.0.0.1:8000/auth/token"
    assert httpx.post(login, data={"username": "pwg.bmc", "password": "demo-border-1007"}).status_code == 401
    token = httpx.post(login, data={"username": "national.admin", "password": password}).json()[
        "access_token"
    ]
    assert [k["kty"] for k in httpx.get("http://127.0.0.1:8000/.well-known/jwks.json").json()["keys"]] == [
        "OKP"
    ]
    audit = "http://127.0.0.1:8001/audit"
    assert httpx.get(audit, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    forged = httpx.get(audit, headers={"Authorization": f"Bearer {_once_printed_key_token()}"})
    assert forged.status_code == 401


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_run_command_brings_every_service_up_and_stops_on_a_signal(tmp_path, stop_signal):
    taken = [name for name, port in PORTS.items() if _port_open(port)]
    if taken:
        pytest.skip(f"ports of {taken} are in use: a local run is already up")
    log = (tmp_path / "run.log").open("w")
    proc = subprocess.Popen(
        ["bash", "deploy/run.sh"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "CLOCK_SPEED": "60"},
        # As a background shell would start it, whatever launched this suite.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        deadline = time.monotonic() + 240
        ready = {}
        while len(ready) < len(PORTS) and time.monotonic() < deadline and proc.poll() is None:
            for name, port in PORTS.items():
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                    if r.status_code == 200:
                        ready[name] = r.json()
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
        output = (tmp_path / "run.log").read_text()
        assert set(ready) == set(PORTS), f"not ready: {set(PORTS) - set(ready)}\n{output[-3000:]}"
        assert all(body["checks"] == {"database": "ok", "kafka": "ok"} for body in ready.values())
        assert "http://127.0.0.1:8001/tablet/" in output
        assert "checkpoint.poipet" in output, "the demo users are printed"
        _only_generated_credentials_work(output)
    finally:
        proc.send_signal(stop_signal)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            # The services run in sessions of their own: killing the run command's group leaves them up.
            subprocess.run(["bash", "deploy/run.sh", "stop"], cwd=ROOT, capture_output=True, timeout=120)
            raise
    assert proc.returncode == 0
    assert "stopping" in (tmp_path / "run.log").read_text()
    assert not any(_port_open(port) for port in PORTS.values()), f"a service outlived {stop_signal.name}"
