"""Who may do what, where: roles scoped to a place of the gazetteer, carried in signed JWTs.

Services only *verify* tokens (issuer, audience, expiry, subject, roles), so an OIDC provider can take
the issuer's place in a deployment. Scope is enforced in queries: `Principal.geo_prefixes()` gives the
village-code prefixes a caller may see, `Principal.scopes(role)` the checkpoints or facilities.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Protocol

import jwt
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.security import OAuth2PasswordBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict
from starlette.routing import Match, Mount

from shared.web.grants import scope_is_valid
from shared.web.revocation import refuse_revoked

log = logging.getLogger(__name__)


class Role(StrEnum):
    checkpoint_officer = "checkpoint_officer"  # scope: a checkpoint id, e.g. KH-TH-01
    facility_staff = "facility_staff"  # scope: a quarantine facility id
    transport_officer = "transport_officer"  # scope: a (border) province code
    commune_chief = "commune_chief"  # scope: a commune code (6 digits)
    district_officer = "district_officer"  # scope: a district code (4 digits)
    provincial_wg = "provincial_wg"  # scope: a province code (2 digits)
    national_admin = "national_admin"  # scope: KH


# Roles whose scope is a place: their scope code is a prefix of the village codes they may see.
GEOGRAPHIC = {Role.commune_chief, Role.district_officer, Role.provincial_wg, Role.transport_officer}
NATION = "KH"


class Grant(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    scope: str


@dataclass(frozen=True)
class Principal:
    subject: str
    grants: tuple[Grant, ...]
    issued_at: int = 0  # the token's `iat`, seconds: refused when the subject's tokens were revoked since

    def has(self, *roles: Role) -> bool:
        return any(g.role in roles for g in self.grants)

    def scopes(self, *roles: Role) -> set[str]:
        """The scope codes the caller holds for these roles."""
        return {g.scope for g in self.grants if g.role in roles}

    @property
    def is_national(self) -> bool:
        return self.has(Role.national_admin)

    def geo_prefixes(self, *roles: Role) -> set[str] | None:
        """Village-code prefixes visible through these roles (default: all geographic ones).

        None means the whole nation (no filter); an empty set means nothing.
        """
        if self.is_national:
            return None
        wanted = set(roles) or GEOGRAPHIC
        return {g.scope for g in self.grants if g.role in wanted and g.role in GEOGRAPHIC}

    def sees_village(self, village_code: str, *roles: Role) -> bool:
        prefixes = self.geo_prefixes(*roles)
        return prefixes is None or any(village_code.startswith(p) for p in prefixes)


class KeySource(Protocol):
    """Where a verifier finds the key of a token by its `kid`: PyJWT's `PyJWKClient` (a JWKS over HTTP),
    or the issuer's own key set."""

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK: ...


@dataclass(frozen=True)
class TokenConfig:
    """How tokens are signed or checked: asymmetric keys only outside tests of HS256 itself.

    A verifier takes the key from `jwks` (by the token's `kid`, so keys rotate without a restart) or, when
    there is none, the static public key PEM in `key`. The issuer puts its private key in `key` and its
    thumbprint in `key_id`.
    """

    issuer: str
    audience: str
    key: str = ""
    algorithm: str = "EdDSA"
    leeway_seconds: int = 10
    key_id: str | None = None
    jwks: KeySource | None = field(default=None, compare=False, repr=False)


def issue_token(config: TokenConfig, subject: str, grants: Iterable[Grant], ttl: timedelta) -> str:
    """Sign a token for `subject` (the issuer's job; services never call this)."""
    now = datetime.now(UTC)
    claims = {
        "iss": config.issuer,
        "aud": config.audience,
        "sub": subject,
        "iat": now,
        "exp": now + ttl,
        "roles": [g.model_dump(mode="json") for g in grants],
    }
    headers = {"kid": config.key_id} if config.key_id else None
    return jwt.encode(claims, config.key, algorithm=config.algorithm, headers=headers)


def _verifying_key(config: TokenConfig, token: str):
    if config.jwks is None:
        return config.key
    # The header is checked before any fetch: a token of another algorithm (an HS256 forgery) or without
    # a kid costs no request to the key set.
    header = jwt.get_unverified_header(token)
    if header.get("alg") != config.algorithm or not header.get("kid"):
        raise jwt.InvalidAlgorithmError("wrong algorithm or no kid")
    return config.jwks.get_signing_key_from_jwt(token)


def verify_token(config: TokenConfig, token: str) -> Principal:
    """Check signature, issuer, audience and expiry; raise 401 on anything wrong, 503 when the key set
    cannot be fetched (the token may be good; the caller should retry)."""
    try:
        claims = jwt.decode(
            token,
            _verifying_key(config, token),
            algorithms=[config.algorithm],
            audience=config.audience,
            issuer=config.issuer,
            leeway=config.leeway_seconds,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        grants = tuple(Grant.model_validate(g) for g in claims.get("roles", []))
    except jwt.PyJWKClientConnectionError as exc:
        log.warning("the token key set cannot be fetched", extra={"error": str(exc)})
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail="token keys unavailable", headers={"Retry-After": "5"}
        ) from exc
    except (jwt.PyJWTError, ValueError) as exc:
        raise _unauthorized(type(exc).__name__) from exc
    if not all(scope_is_valid(g.role, g.scope) for g in grants):
        raise _unauthorized("invalid grant")  # a partial scope would widen every LIKE filter: none is trusted
    return Principal(subject=claims["sub"], grants=grants, issued_at=int(claims["iat"]))


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


_bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


# The dependencies are `async def` although they never await: FastAPI runs a plain `def` dependency in its
# thread pool, a thread hop per dependency per request (about a tenth of intake's CPU under load).


async def current_principal(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Principal:
    if not token:
        raise _unauthorized("missing token")
    config: TokenConfig = request.app.state.token_config
    principal = verify_token(config, token)
    await refuse_revoked(request.app, principal.subject, principal.issued_at)
    request.state.principal = principal
    return principal


def require(*roles: Role):
    """Dependency: the caller holds at least one of `roles` (403 otherwise); returns the Principal."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has(*roles):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="role not allowed here")
        return principal

    check.roles = roles  # read by the deny-by-default check of the app's routes
    return Depends(check)


async def _public() -> None:
    """No check at all: the route is open on purpose (a login, a static page)."""


_public.public = True  # read by the deny-by-default check of the app's routes


def public():
    """Dependency marking a route as deliberately open: `@router.post(..., dependencies=[public()])`."""
    return Depends(_public)


# Operations routes every service has; they hold no returnee data (/metrics checks its scrape token).
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _has_rule(dependant) -> bool:
    """A `require(...)` or `public()` anywhere in the route's dependency tree."""
    for dep in dependant.dependencies:
        call = dep.call
        if getattr(call, "roles", None) or getattr(call, "public", False) or _has_rule(dep):
            return True
    return False


def _requires_a_role(dependant) -> bool:
    return any(getattr(d.call, "roles", None) or _requires_a_role(d) for d in dependant.dependencies)


def _is_exempt(app: FastAPI, route) -> bool:
    original = getattr(route, "original_route", route)
    if isinstance(original, APIRoute | APIWebSocketRoute):
        return route.path in OPEN_PATHS or _has_rule(route.dependant)
    if isinstance(original, Mount):
        # Static assets (the pages' HTML and JS) are open; the data they show is behind the API.
        return isinstance(original.app, StaticFiles)
    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    return route.path in docs


def _effective_routes(app: FastAPI) -> list:
    """Every route as served, with the prefixes and dependencies of the routers that include it."""
    return list(iter_route_contexts(app.routes))


def _describe(route) -> str:
    methods = sorted(route.methods or ["*"])
    return f"{','.join(methods)} {route.path}"


def routes_without_a_rule(app: FastAPI) -> list[str]:
    """`METHOD /path` of every route of `app` that neither requires a role nor is marked public."""
    return [_describe(r) for r in _effective_routes(app) if not _is_exempt(app, r)]


def assert_every_route_has_a_rule(app: FastAPI) -> None:
    """Deny by default: raise if any route of `app` has no explicit access rule."""
    missing = routes_without_a_rule(app)
    if missing:
        raise AssertionError("routes without an access rule: " + "; ".join(missing))


class DenyUnruledRoutes:
    """ASGI middleware, deny by default at run time: a request that a route without an access rule would
    serve gets 403, and one without a bearer token for a route that requires a role gets 401 before
    anything reads its body. The app's routes are read at the first request, so late routes are covered."""

    def __init__(self, app) -> None:
        self.app = app
        self.unruled: list | None = None
        self.guarded: list = []

    def _read_routes(self, owner: FastAPI) -> None:
        routes = [r for r in _effective_routes(owner) if hasattr(r, "matches")]
        self.unruled = [r for r in routes if not _is_exempt(owner, r)]
        self.guarded = [
            r
            for r in routes
            if isinstance(getattr(r, "original_route", r), APIRoute) and _requires_a_role(r.dependant)
        ]
        if self.unruled:
            log.warning(
                "routes without an access rule refuse every request",
                extra={"routes": [_describe(r) for r in self.unruled]},
            )

    def _refusal(self, scope) -> JSONResponse | None:
        if self.unruled is None:
            self._read_routes(scope["app"])
        if any(route.matches(scope)[0] is Match.FULL for route in self.unruled):
            return JSONResponse({"detail": "no access rule on this route"}, status_code=403)
        authorization = dict(scope["headers"]).get(b"authorization", b"")
        if authorization[:7].lower() != b"bearer " and any(
            route.matches(scope)[0] is Match.FULL for route in self.guarded
        ):
            return JSONResponse(
                {"detail": "missing token"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return None

    async def __call__(self, scope, receive, send) -> None:
        refusal = self._refusal(scope) if scope["type"] == "http" else None
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def refuse_unruled_routes(app: FastAPI) -> list[str]:
    """Install `DenyUnruledRoutes` (before the app starts); returns the routes it refuses so far."""
    app.add_middleware(DenyUnruledRoutes)
    return routes_without_a_rule(app)
