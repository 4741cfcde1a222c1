"""HTTP API of identity: the OAuth2 password flow and who the caller is."""

import asyncio
import math
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel

from services.identity import handlers
from services.identity.settings import Settings
from shared.errors import Invalid
from shared.unit_of_work import Deps, OriginDep, get_deps
from shared.web.api_errors import ErrorOut, errors
from shared.web.auth import Grant, Principal, Role, issue_token, public, require

router = APIRouter(prefix="/auth", tags=["auth"])

IdentityDeps = Annotated[Deps[Settings], Depends(get_deps)]
# No username holds control characters, and PostgreSQL refuses NUL in a query: refuse them up front.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Longer than any username or password there is; refused before any hashing or query.
MAX_USERNAME = 64
MAX_PASSWORD = 1024


@dataclass
class LoginLimits:
    """Logins per client address and overall, in memory: right for the one identity instance a deployment
    runs (several instances would each allow as much, and would need a shared storage such as Redis)."""

    limiter: MovingWindowRateLimiter
    per_client: RateLimitItem
    overall: RateLimitItem

    @classmethod
    def of(cls, settings: Settings) -> "LoginLimits":
        limiter = MovingWindowRateLimiter(MemoryStorage())
        return cls(limiter, parse(settings.login_rate_per_client), parse(settings.login_rate_global))

    def refuse_over_limit(self, client: str) -> None:
        """Count one login from `client`; 429 with Retry-After when it, or everyone together, is over."""
        for item, keys in ((self.per_client, ("client", client)), (self.overall, ("all",))):
            if not self.limiter.hit(item, "login", *keys):
                reset_at = self.limiter.get_window_stats(item, "login", *keys).reset_time
                retry_after = max(1, math.ceil(reset_at - time.time()))
                raise HTTPException(
                    status.HTTP_429_TOO_MANY_REQUESTS,
                    detail="too many logins, try again later",
                    headers={"Retry-After": str(retry_after)},
                )


def _login_limits(request: Request, deps: IdentityDeps) -> LoginLimits:
    state = request.app.state
    if getattr(state, "login_limits", None) is None:
        state.login_limits = LoginLimits.of(deps.settings)
    return state.login_limits


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int  # seconds


class Me(BaseModel):
    subject: str
    roles: list[Grant]


TOO_MANY = {429: {"model": ErrorOut, "description": "Too many logins: try again after Retry-After seconds"}}


@router.post("/token", response_model=TokenOut, dependencies=[public()], responses=errors(401) | TOO_MANY)
async def token(
    deps: IdentityDeps,
    origin: OriginDep,
    response: Response,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    limits: Annotated[LoginLimits, Depends(_login_limits)],
) -> TokenOut:
    """Exchange a username and password for a signed bearer token (OAuth2 password flow)."""
    settings = deps.settings
    if _CONTROL.search(form.username):
        raise Invalid(("body", "username"), "must not contain control characters")
    if len(form.username) > MAX_USERNAME:
        raise Invalid(("body", "username"), f"at most {MAX_USERNAME} characters")
    if len(form.password) > MAX_PASSWORD:
        raise Invalid(("body", "password"), f"at most {MAX_PASSWORD} characters")
    limits.refuse_over_limit(origin.client_ip or "-")  # before argon2: a flood costs no hashing
    loop = asyncio.get_running_loop()
    started = loop.time()
    logged_in = await deps.run(handlers.log_in, origin=origin, username=form.username, password=form.password)
    if logged_in is None:
        # Every failure answers the same time after it began, whether or not the username exists; waited
        # out here, after the failure is committed, so no connection is held while waiting.
        await asyncio.sleep(max(0.0, settings.failed_login_delay_seconds - (loop.time() - started)))
        # One answer for an unknown user, a wrong password and a locked account: no hint to a guesser.
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="invalid username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if logged_in.not_before is not None:
        # Just after a reset or a grant change, tokens of this second are revoked: issue in the next one.
        await asyncio.sleep(max(0.0, logged_in.not_before - time.time()))
    principal = logged_in.principal
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 5.1: tokens are never cached
    return TokenOut(
        access_token=issue_token(settings.signing_config(), principal.subject, principal.grants, ttl),
        expires_in=int(ttl.total_seconds()),
    )


class RevocationsOut(BaseModel):
    # SHA-256 of the subject (`shared.web.revocation.subject_key`) -> the first `iat` still accepted.
    not_before: dict[str, int]


@router.get("/revocations", response_model=RevocationsOut, dependencies=[public()])
async def revocations(deps: IdentityDeps, response: Response) -> RevocationsOut:
    """Whose tokens issued before when are refused: what every service reads to revoke tokens. Open, as
    the services read it without a token of their own; it names no one."""
    settings = deps.settings
    # Beyond a token's lifetime (and the services' leeway) a revocation has nothing left to refuse.
    max_age = timedelta(minutes=settings.token_ttl_minutes, seconds=settings.token_config().leeway_seconds)
    response.headers["Cache-Control"] = "no-store"
    return RevocationsOut(not_before=await deps.run(handlers.revocations, max_age=max_age))


@router.get("/me", response_model=Me)
async def me(principal: Annotated[Principal, require(*Role)]) -> Me:
    """The verified caller: subject and roles with their scopes, as every service sees them."""
    return Me(subject=principal.subject, roles=list(principal.grants))
