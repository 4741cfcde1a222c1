"""The issuer's public keys, as a JWKS (RFC 7517): what the services and any OIDC client verify with."""

from fastapi import APIRouter, Request, Response

from shared.web.auth import public

router = APIRouter(tags=["tokens"])
# The services cache the set (JWT_JWKS_CACHE_SECONDS) and refetch it on an unknown kid anyway.
CACHE_CONTROL = "public, max-age=300"


@router.get("/.well-known/jwks.json", dependencies=[public()])
async def jwks(request: Request, response: Response) -> dict:
    """The public keys tokens are signed with: the current one first, then those still valid."""
    response.headers["Cache-Control"] = CACHE_CONTROL
    return request.app.state.issuer_keys.jwks()
