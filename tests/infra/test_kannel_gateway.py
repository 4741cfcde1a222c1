"""The real Kannel 1.4.5 with its fake SMS centre, as deploy/kannel.sh starts it.

The test command starts Kannel (`deploy/kannel.sh start`); without it these tests skip.
Outbound: sendsms -> bearerbox -> fakesmsc, read back from fakesmsc.log.
Inbound: `deploy/kannel.sh inject` -> fakesmsc -> smsbox -> our get-url (NOTIFY_URL at Kannel's start).
"""

from __future__ import annotations

import http.server
import os
import queue
import random
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.infra.kannel_log import Sms, parse_lines, wait_for_sms

ROOT = Path(__file__).resolve().parents[2]
SENDSMS_PORT = int(os.environ.get("KANNEL_SENDSMS_PORT", "13013"))
SENDSMS = f"http://127.0.0.1:{SENDSMS_PORT}/cgi-bin/sendsms"
SEND_USER = os.environ.get("KANNEL_SEND_USER", "notify")
# The running Kannel's own secrets: tests/conftest.py gives them to notify from its secrets.env.
SEND_PASSWORD = os.environ.get("NOTIFY_KANNEL_SEND_PASSWORD", "")
INBOUND_SECRET = os.environ.get("NOTIFY_KANNEL_INBOUND_SECRET", "")
NOTIFY_URL = os.environ.get("NOTIFY_URL", "http://127.0.0.1:8004")

KHMER = "សួស្តី ពិភពលោក ស្រុកព្រៃវែង"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def kannel() -> None:
    if not _answers("127.0.0.1", SENDSMS_PORT):
        pytest.skip(f"Kannel's sendsms port 127.0.0.1:{SENDSMS_PORT} does not answer: start deploy/kannel.sh")


def _phone() -> str:
    # A fresh number per test, so earlier runs' lines in the same log cannot match.
    return "8559" + "".join(random.choices("0123456789", k=7))


def _send(to: str, text: str) -> httpx.Response:
    params = {
        "username": SEND_USER,
        "password": SEND_PASSWORD,
        "from": "1294",
        "to": to,
        "text": text,
        "charset": "UTF-8",
        "coding": "2",  # UCS-2 on the air: without it Khmer becomes '?'
    }
    return httpx.get(SENDSMS, params=params, timeout=10)


@pytest.mark.parametrize(
    "text",
    [KHMER, (KHMER + " ") * 5],  # 150 chars: three concatenated UCS-2 parts
    ids=["short", "concatenated"],
)
def test_khmer_sms_reaches_the_sms_centre_intact(kannel: None, text: str) -> None:
    to = _phone()
    resp = _send(to, text)
    assert resp.status_code == 202, resp.text
    sms = wait_for_sms(lambda s: s.receiver == to, timeout=15)
    assert sms == Sms("1294", to, text)


class _Inbound(http.server.BaseHTTPRequestHandler):
    requests: queue.Queue[dict[str, list[str]]]

    def do_GET(self) -> None:
        self.requests.put(parse_qs(urlsplit(self.path).query, keep_blank_values=True))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def inbound(kannel: None) -> Iterator[queue.Queue[dict[str, list[str]]]]:
    """Stands in for notify's /kannel/inbound on the port Kannel was started with."""
    url = urlsplit(NOTIFY_URL)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    if _answers(host, port):
        pytest.skip(f"{host}:{port} is taken (notify running?); the MO test needs it for its receiver")
    requests: queue.Queue[dict[str, list[str]]] = queue.Queue()
    handler = type("Handler", (_Inbound,), {"requests": requests})
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield requests
    finally:
        server.shutdown()
        server.server_close()


def _inject(sender: str, to: str, text: str) -> None:
    subprocess.run([str(ROOT / "deploy/kannel.sh"), "inject", sender, to, text], check=True, timeout=30)


@pytest.mark.parametrize("text", ["VISIT 1234", "បាទ មកដល់ហើយ 1234"], ids=["ascii", "khmer"])
def test_mo_reply_reaches_inbound_url(inbound: queue.Queue[dict[str, list[str]]], text: str) -> None:
    sender = _phone()
    _inject(sender, "1294", text)
    while True:
        try:
            query = inbound.get(timeout=15)
        except queue.Empty:
            pytest.fail(f"smsbox did not call {NOTIFY_URL}/kannel/inbound within 15s")
        if query.get("from") == [sender]:
            break  # anything else is a late retry from an earlier test
    assert query["secret"] == [INBOUND_SECRET]
    assert query["to"] == ["1294"]
    assert query["text"] == [text]
    assert query["charset"] == ["UTF-8"]  # mo-recode turned the UCS-2 reply into UTF-8
    assert query["id"][0]


def test_parse_recorded_fakesmsc_lines() -> None:
    # Lines as Kannel 1.4.5's fakesmsc printed them (see deploy/kannel/README.md).
    head = b"2026-11-25 13:03:19 [12224] [0] DEBUG: "
    log = [
        b"2026-11-25 13:02:42 [12224] [0] INFO: fakesmsc starting",
        b"2026-11-25 13:02:48 [12224] [0] DEBUG: Got message 1: <1294 85512345678 ucs-2 "
        b"%17%9F%17%BD%17%9F%17%D2%17%8F%17%B8%00+%00o%00k>",
        b"2026-11-25 13:02:48 [12224] [0] DEBUG: Got message 2: <1294 85512345678 text caf\xc3\xa9 a+b>",
        head + b"Got message 3: <1294 1 udh %05%00%03%04%02%02 data %00b>",
        head + b"fakesmsc: sent message 1",
        head + b"Got message 4: <1294 1 udh %05%00%03%04%02%01 data %17%9F%00a>",
        head + b"Got message 5: <1294 2 udh %05%00%03%05%02%01 data AAA>",
    ]
    assert parse_lines(log) == [
        Sms("1294", "85512345678", "សួស្តី ok"),
        Sms("1294", "85512345678", "café a+b"),
        Sms("1294", "1", "សab"),  # parts joined in sequence order; part 2 of ref 5 never came
    ]
