"""Read back the SMS that Kannel's fake SMS centre received (deploy/kannel.sh's fakesmsc.log).

fakesmsc prints one line per SMS (per part, for a long one), e.g.

    2026-11-25 13:02:48 [12224] [0] DEBUG: Got message 1: <1294 85512345678 ucs-2 %17%9F%17%BD...>

The part between < and > is `FROM TO KIND PAYLOAD`, with KIND one of
  text PAYLOAD          raw bytes as sent (7-bit/default coding), UTF-8 for anything non-ASCII
  data PAYLOAD          url-encoded 8-bit bytes (coding=1)
  ucs-2 PAYLOAD         url-encoded UTF-16BE (coding=2, e.g. Khmer); '+' is a space byte
  udh UDH data PAYLOAD  one part of a concatenated SMS: url-encoded UDH and part bytes. The
                        coding is NOT printed for parts; see _looks_ucs2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote_to_bytes

from tests.waiting import wait_until_blocking

_GOT = re.compile(rb"Got message \d+: <(.*)>\s*$")


class Sms(NamedTuple):
    sender: str
    receiver: str
    text: str


def log_path() -> Path:
    """Where deploy/kannel.sh writes it (KANNEL_RUN_DIR overrides .run/kannel, as in the script)."""
    run_dir = os.environ.get("KANNEL_RUN_DIR") or Path(__file__).resolve().parents[2] / ".run" / "kannel"
    return Path(run_dir) / "fakesmsc.log"


def _urldecode(payload: bytes) -> bytes:
    # Kannel's octstr_url_encode writes a space as '+' and everything else unsafe as %XX.
    return unquote_to_bytes(payload.replace(b"+", b" "))


def _looks_ucs2(data: bytes) -> bool:
    """Guess the coding of a concatenated SMS, which fakesmsc does not print.

    In UTF-16BE every high byte of Latin, Khmer (U+17xx), Thai... is below 0x20, which
    7-bit or 8-bit text practically never has at every other position.
    """
    if not data or len(data) % 2:
        return False
    highs = data[0::2]
    return sum(h < 0x20 for h in highs) * 2 >= len(highs)


def _decode(data: bytes, ucs2: bool) -> str:
    return data.decode("utf-16-be") if ucs2 else data.decode("utf-8", errors="replace")


def _concat_info(udh: bytes) -> tuple[int, int, int] | None:
    """(reference, total, sequence) from a concatenation UDH (IEI 0x00 or 0x08), else None."""
    i, end = 1, 1 + (udh[0] if udh else 0)
    while i + 1 < min(end, len(udh)):
        iei, length = udh[i], udh[i + 1]
        ie = udh[i + 2 : i + 2 + length]
        if iei == 0x00 and length == 3:
            return ie[0], ie[1], ie[2]
        if iei == 0x08 and length == 4:
            return (ie[0] << 8) | ie[1], ie[2], ie[3]
        i += 2 + length
    return None


def parse_lines(lines: Iterable[bytes | str]) -> list[Sms]:
    """Every complete SMS in fakesmsc's output, in order; concatenated parts joined.

    Lines that are not "Got message" lines are ignored, and so are long SMS whose
    parts have not all arrived yet.
    """
    out: list[Sms | None] = []
    pending: dict[tuple[str, str, int, int], tuple[int, dict[int, bytes]]] = {}
    for raw in lines:
        line = raw.encode() if isinstance(raw, str) else raw
        m = _GOT.search(line.rstrip(b"\r\n"))
        if not m:
            continue
        fields = m.group(1).split(b" ", 3)
        if len(fields) < 4:
            continue
        sender, receiver = fields[0].decode(), fields[1].decode()
        kind, payload = fields[2], fields[3]
        if kind == b"text":
            out.append(Sms(sender, receiver, payload.decode("utf-8", errors="replace")))
        elif kind == b"data":
            out.append(Sms(sender, receiver, _decode(_urldecode(payload), ucs2=False)))
        elif kind == b"ucs-2":
            out.append(Sms(sender, receiver, _decode(_urldecode(payload), ucs2=True)))
        elif kind == b"udh":
            udh_enc, _, rest = payload.partition(b" ")
            body = _urldecode(rest.split(b" ", 1)[1] if rest.startswith(b"data ") else rest)
            info = _concat_info(_urldecode(udh_enc))
            if info is None:  # a UDH that is not concatenation (ports, flash...): keep the body
                out.append(Sms(sender, receiver, _decode(body, _looks_ucs2(body))))
                continue
            ref, total, seq = info
            key = (sender, receiver, ref, total)
            if key not in pending:
                pending[key] = (len(out), {})
                out.append(None)  # keeps the place of the first part
            slot, parts = pending[key]
            parts[seq] = body
            if len(parts) == total:
                joined = b"".join(parts[i] for i in sorted(parts))
                out[slot] = Sms(sender, receiver, _decode(joined, _looks_ucs2(joined)))
                del pending[key]  # the reference number is reused after 256 messages
    return [sms for sms in out if sms is not None]


def read_sent(path: Path | str | None = None) -> list[Sms]:
    """All SMS in the fakesmsc log so far ([] when there is no log yet)."""
    p = Path(path) if path else log_path()
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        return []
    return parse_lines(data.split(b"\n"))


def wait_for_sms(match: Callable[[Sms], bool], timeout: float = 15.0, path: Path | str | None = None) -> Sms:
    """Poll the log until an SMS matches; AssertionError with what did arrive on timeout."""

    def latest() -> Sms | None:
        found = [sms for sms in read_sent(path) if match(sms)]
        return found[-1] if found else None

    return wait_until_blocking(
        latest, timeout, what=lambda: f"a matching SMS in fakesmsc.log; last ones: {read_sent(path)[-5:]}"
    )
