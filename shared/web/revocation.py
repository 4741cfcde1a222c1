"""The services' side of token revocation: refuse a token issued before its subject's not-before.

Identity bumps a user's not-before on deactivation, password reset and grant change, and publishes the
recent ones (`GET /auth/revocations`, subjects as SHA-256 so the list names no officer). Each service keeps
the last list it read and reads it again once it is `refresh_seconds` old: the request that finds it stale
starts the read and is answered on the list it had, so no request waits on identity but the very first.
When identity does not answer, the last list stays in force (and, before any list, nothing is refused):
revocation then waits for identity, logins wait for it anyway.
"""

import asyncio
import hashlib
import logging
import time

import httpx
from fastapi import HTTPException, status

log = logging.getLogger(__name__)


def subject_key(subject: str) -> str:
    """How the published list names a subject."""
    return hashlib.sha256(subject.encode()).hexdigest()


class Revocations:
    def __init__(self, url: str, refresh_seconds: float, client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self.refresh_seconds = refresh_seconds
        # Long-lived: one connection to identity, not a handshake every refresh.
        self.client = client or httpx.AsyncClient(timeout=2.0)
        self.not_before: dict[str, int] | None = None  # None until the first list is read
        self._read_at = float("-inf")  # monotonic
        self._reading: asyncio.Task | None = None

    async def _read(self) -> None:
        try:
            r = await self.client.get(self.url)
            r.raise_for_status()
            self.not_before = {str(k): int(v) for k, v in r.json()["not_before"].items()}
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("token revocations not refreshed; the last list stays", extra={"error": repr(exc)})

    async def issued_before_not_before(self, subject: str, issued_at: int) -> bool:
        now = time.monotonic()
        if now - self._read_at >= self.refresh_seconds and (self._reading is None or self._reading.done()):
            self._read_at = now
            self._reading = asyncio.create_task(self._read())
        if self.not_before is None and self._reading is not None:
            await asyncio.shield(self._reading)  # nothing known yet: wait for the first list
        not_before = (self.not_before or {}).get(subject_key(subject))
        return not_before is not None and issued_at < not_before


def _of(app) -> Revocations | None:
    revocations = getattr(app.state, "revocations", None)
    if revocations is None:
        runtime = getattr(app.state, "runtime", None)
        url = getattr(getattr(runtime, "settings", None), "jwt_revocations_url", None)
        if not url:
            return None  # no issuer to ask (unit tests); refused in production by the settings
        refresh = runtime.settings.jwt_revocations_refresh_seconds
        revocations = app.state.revocations = Revocations(url, refresh)
    return revocations


async def refuse_revoked(app, subject: str, issued_at: int) -> None:
    """401 when `subject`'s tokens issued at `issued_at` (seconds) were revoked since."""
    revocations = _of(app)
    if revocations is not None and await revocations.issued_before_not_before(subject, issued_at):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, detail="token revoked", headers={"WWW-Authenticate": "Bearer"}
        )
