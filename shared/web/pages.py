"""What a service's page needs to know about the origin it was served from: where its API and the login are.

Served straight from a service's port, the page talks to that port and logs in on identity's port. Behind the
HTTPS proxy (deploy/caddy/Caddyfile), every API lives under `/api/<service>` of the one origin, and the proxy
says which with `X-Api-Base` when it passes a page's request on.
"""

import re

from fastapi import Request

from shared.i18n import LANGS, namespace

# Only a path of this shape: a forged header must not point the page, and its token, at another host.
API_BASE = re.compile(r"/api/[a-z]{1,20}")


def page_config(request: Request, identity_url: str) -> dict:
    """`api_base` ('' on a service's own port) and `identity_url` ('' means: this host, port 8000)."""
    base = request.headers.get("x-api-base", "")
    if not API_BASE.fullmatch(base):
        return {"api_base": "", "identity_url": identity_url}
    return {"api_base": base, "identity_url": identity_url or "/api/identity"}


def page_messages(page: str) -> dict[str, dict[str, str]]:
    """A page's words in every language, from the one catalog (shared/i18n), for its language switch."""
    return {lang: namespace(page, lang) for lang in LANGS}
