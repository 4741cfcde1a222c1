"""A real socket and a real browser, for the tests that need them: Kannel calling back, pages in Chromium."""

import asyncio
import os
import socket
import tempfile
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from tests.waiting import wait_until

# The docs' pictures are refreshed on purpose (UPDATE_SCREENSHOTS=1 make test); a plain run leaves the tree
# as it found it.
SCREENSHOTS = (
    Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "border-screenshots"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright's own browser download cannot reach its host here
HAVE_CHROMIUM = Path(CHROMIUM).exists()
# Without the background-networking flags Chromium keeps calling home, and a closed network refuses it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on now and that this process has not handed out before.

    bind(0) can give a just-closed port again: without the memory, two parts of one stack chosen before
    either starts (the fault test's PostgreSQL and Kafka) can be given the same port.
    """
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@asynccontextmanager
async def serving(app, port: int | None = None):
    """Serve an app whose lifespan already runs (the stack's) on 127.0.0.1; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None))
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started or task.done(), what="uvicorn started")
    if task.done():
        task.result()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


async def serious_accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands, one line each ('' when clean)."""
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


ROOT = Path(__file__).resolve().parents[1]


@asynccontextmanager
async def https_origin(upstreams: dict[str, str], run_dir: Path):
    """deploy/proxy.sh's Caddy in front of served apps ({'intake': 'http://127.0.0.1:N', ...}); yields
    (origin, CA root certificate). The proxy is the one users run, with its own CA made in run_dir."""
    port = free_port()
    env = os.environ | {
        "PROXY_RUN_DIR": str(run_dir),
        "PROXY_PORT": str(port),
        "PROXY_HTTP_PORT": str(free_port()),
        "PROXY_HOSTS": "localhost",
    }
    env |= {f"UPSTREAM_{name.upper()}": url.removeprefix("http://") for name, url in upstreams.items()}
    script = str(ROOT / "deploy" / "proxy.sh")

    async def proxy(command: str) -> str:
        process = await asyncio.create_subprocess_exec(
            "bash", script, command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await process.communicate()
        assert process.returncode == 0, out.decode()
        return out.decode().strip()

    await proxy("start")
    try:
        yield f"https://localhost:{port}", Path((await proxy("ca")).splitlines()[-1])
    finally:
        await proxy("stop")


@asynccontextmanager
async def chromium_trusting(ca: Path, home: Path):
    """Chromium that trusts the proxy's CA the way a tablet does once its owner installed it: in the
    browser's own certificate store (an NSS database in its home), not by ignoring certificate errors."""
    from playwright.async_api import async_playwright

    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    for args in (
        ["-N", "--empty-password"],
        ["-A", "-n", "border-return-ca", "-t", "C,,", "-i", str(ca)],
    ):
        process = await asyncio.create_subprocess_exec("certutil", "-d", f"sql:{nssdb}", *args)
        assert await process.wait() == 0, f"certutil {args[0]} failed"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=os.environ | {"HOME": str(home)}
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass(frozen=True)
class Origin:
    url: str  # https://localhost:<port>
    ca: Path  # the proxy's root certificate
    browser: object  # Playwright's Browser, trusting `ca`


@asynccontextmanager
async def proxied(run_dir: Path, **apps):
    """Each app served on loopback (`name=app`, or `name=(app, port)` where a port is fixed) behind
    deploy/proxy.sh's one HTTPS origin, and Chromium trusting its CA: what an officer's browser meets."""
    async with AsyncExitStack() as stack:
        upstreams = {}
        for name, app in apps.items():
            app, port = app if isinstance(app, tuple) else (app, None)
            upstreams[name] = await stack.enter_async_context(serving(app, port))
        url, ca = await stack.enter_async_context(https_origin(upstreams, run_dir / "caddy"))
        browser = await stack.enter_async_context(chromium_trusting(ca, run_dir / "home"))
        yield Origin(url, ca, browser)


async def sign_in(page, username: str, *, then: str) -> None:
    """Log in on a page's own form as a user of tests/identity (the shared test password), then wait
    for the page's `then` part to show."""
    from tests.identity.conftest import PASSWORD

    await page.wait_for_selector("#login:not([hidden])")
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", PASSWORD)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector(f"{then}:not([hidden])")
