"""Process management of the fault test: its own broker, PostgreSQL cluster, Kannel and service processes.

Everything here runs on loopback ports of its own and under one scratch directory, so killing any of it
with SIGKILL disturbs nobody else's tests. Every process is started in a session (process group) of its
own and is signalled by that group id only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from tests.waiting import wait_until_blocking
from tests.web import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SERVICES = ("intake", "quarantine", "transport", "notify", "dashboard")


def run_script(script: str, command: str, env: dict[str, str]) -> None:
    """deploy/<script> <command>; its log lines end up in the error when it fails."""
    done = subprocess.run(["bash", str(ROOT / "deploy" / script), command], env=env, capture_output=True)
    if done.returncode:
        tail = done.stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"deploy/{script} {command} failed ({done.returncode}): {tail}")


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group `proc` leads (it was started with start_new_session) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


class Postgres:
    """A throw-away cluster owned by the `postgres` OS user when we are root, trust auth on loopback."""

    def __init__(self, base: Path):
        self.dir = base / "pg"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = base / "postgres.log"

    @staticmethod
    def _owner() -> dict:
        """As root, run as the `postgres` user (PostgreSQL refuses root); a direct child, so we reap it."""
        return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}

    def init(self) -> None:
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.dir), "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True,
            **self._owner(),
            capture_output=True,
            cwd="/",
        )

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(PG_BIN / "postgres"),
                    "-D",
                    str(self.dir),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.dir),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "max_connections=300",
                    # A process kill keeps the OS page cache, so fsync buys nothing here but disk load.
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd="/",
                start_new_session=True,
                **self._owner(),
            )
        wait_until_blocking(self.ready, 60, 0.2, "postgres")

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.url("postgres", "postgresql"), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def kill(self) -> None:
        """Postmaster and every backend at once, like a power cut of the database host."""
        if self.proc:
            kill_group(self.proc)
            self.proc = None

    def url(self, db: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{db}"

    def sql(self, db: str, statement: str, params=()) -> list[tuple]:
        with psycopg.connect(self.url(db, "postgresql"), autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)
        self.proc = None


class Kafka:
    """A single KRaft broker of our own, through deploy/kafka.sh with its own run dir and ports."""

    def __init__(self, base: Path):
        self.dir = base / "kafka"
        self.port = free_port()
        self.controller_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"

    def _run(self, command: str) -> None:
        env = {
            **os.environ,
            "KAFKA_RUN_DIR": str(self.dir),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "KAFKA_HEAP": "-Xmx512m",
        }
        run_script("kafka.sh", command, env)

    def start(self) -> None:
        try:
            self._run("start")
        except RuntimeError:
            # kafka.sh's alive() (`tr | grep -q` under pipefail) can see a starting broker as dead and give
            # up on it while it runs on: end that one and start again.
            reap_leftovers(self.dir)
            self._run("start")

    def kill(self) -> None:
        self._run("kill9")

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run("stop")


class Kannel:
    """bearerbox + smsbox + the fake SMS centre on ports of our own (deploy/kannel.sh's overrides)."""

    def __init__(self, base: Path, notify_url: str):
        self.dir = base / "kannel"
        self.ports = {name: free_port() for name in ("ADMIN", "SMSBOX", "SENDSMS", "SMSC")}
        self.notify_url = notify_url
        self.sendsms_url = f"http://127.0.0.1:{self.ports['SENDSMS']}/cgi-bin/sendsms"
        self.status_url = f"http://127.0.0.1:{self.ports['ADMIN']}/status.txt"
        self.sent_log = self.dir / "fakesmsc.log"

    def _run(self, command: str) -> None:
        env = {**os.environ, "KANNEL_RUN_DIR": str(self.dir), "NOTIFY_URL": self.notify_url}
        env.update({f"KANNEL_{name}_PORT": str(port) for name, port in self.ports.items()})
        run_script("kannel.sh", command, env)

    def start(self) -> None:
        try:
            self._run("start")
        except RuntimeError:  # the same `tr | grep -q` race as kafka.sh's, in kannel.sh's alive()
            reap_leftovers(self.dir, keep=("fakesmsc", "sleep"))
            self._run("start")

    def kill(self) -> None:
        """SIGKILL both boxes (the SMS centre is the operator's, it stays); their pid files name groups."""
        for name in ("smsbox", "bearerbox"):
            pidfile = self.dir / f"{name}.pid"
            with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
                pid = int(pidfile.read_text().strip())
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    os.kill(pid, signal.SIGKILL)
        # Nothing of ours may still hold the ports when `start` checks them.
        for name in ("smsbox", "bearerbox"):
            with contextlib.suppress(FileNotFoundError, ValueError):
                pid = int((self.dir / f"{name}.pid").read_text().strip())
                wait_until_blocking(lambda pid=pid: not _alive(pid), 15, 0.2, f"{name} to die")
        # The SMS centre hangs up when its bearerbox goes; `start` must see it gone to start a new one,
        # else the new bearerbox queues every SMS with no SMS centre to send to.
        with contextlib.suppress(FileNotFoundError, ValueError):
            pid = int((self.dir / "fakesmsc.pid").read_text().strip())
            with contextlib.suppress(RuntimeError):
                wait_until_blocking(lambda: not _alive(pid), 15, 0.2, "fakesmsc to hang up")
            if _alive(pid):
                os.kill(pid, signal.SIGTERM)
                wait_until_blocking(lambda: not _alive(pid), 15, 0.2, "fakesmsc to stop")

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run("stop")


def reap_leftovers(base: Path, keep: tuple[str, ...] = ()) -> list[int]:
    """SIGKILL what a failed start or stop left running: only processes naming our scratch dir."""
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes()
            if str(base).encode() in cmdline and not any(k.encode() in cmdline for k in keep):
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
    return killed


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "State:\tZ" not in status


@dataclass
class Services:
    """The five services as `border-<svc> serve` processes sharing one topic prefix and demo clock."""

    base: Path
    pg: Postgres
    kafka: Kafka
    extra_env: dict[str, str]
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.prefix = f"faults.{self.run}."
        self.ports = {name: free_port() for name in SERVICES}
        self.databases = {name: f"faults_{name}" for name in SERVICES}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self, name: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.kafka.bootstrap,
            TOPIC_PREFIX=self.prefix,
            LOG_LEVEL="WARNING",
            BORDER_ENV="test",
        )
        upper = name.upper()
        env[f"{upper}_DATABASE_URL"] = self.pg.url(self.databases[name])
        env[f"{upper}_HTTP_PORT"] = str(self.ports[name])
        # A killed instance's partitions come back to its successor after this long.
        env[f"{upper}_CONSUMER_SESSION_TIMEOUT_MS"] = "6000"
        env[f"{upper}_CONSUMER_HEARTBEAT_INTERVAL_MS"] = "1000"
        env.update(self.extra_env)
        return env

    def create_databases(self) -> None:
        for db in self.databases.values():
            self.pg.sql("postgres", f'CREATE DATABASE "{db}"')

    def command(self, name: str, *args: str, timeout: float = 180) -> None:
        subprocess.run(
            [str(VENV_BIN / f"border-{name}"), *args],
            cwd=ROOT,
            env=self.env(name),
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def start(self, name: str) -> None:
        logfile = (self.base / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [str(VENV_BIN / f"border-{name}"), "serve", "--no-migrate-first"],
            cwd=ROOT,
            env=self.env(name),
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        logfile.close()

    def ready(self, name: str) -> bool:
        proc = self.procs.get(name)
        if proc is None or proc.poll() is not None:
            return False
        try:
            return httpx.get(f"{self.url(name)}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, name: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready(name):
            proc = self.procs[name]
            if proc.poll() is not None:  # e.g. started while the database was still recovering
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} keeps exiting; see {self.base / (name + '.log')}")
                self.start(name)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after {timeout:.0f}s")
            time.sleep(0.3)

    def kill(self, name: str) -> None:
        kill_group(self.procs[name])

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kill_group(proc)
        self.procs.clear()


def policy_rules(home_checkpoint: str) -> str:
    return json.dumps([{"checkpoint_id": home_checkpoint, "policy": "home"}])
