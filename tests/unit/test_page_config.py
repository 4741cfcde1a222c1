"""A page's config says where its API is: from the proxy's header, and only a path of the proxy's shape."""

from starlette.requests import Request

from shared.web.pages import page_config


def _request(**headers) -> Request:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/tablet/config.json", "headers": raw})


def test_on_a_services_own_port_the_page_uses_that_port_and_identitys():
    assert page_config(_request(), "") == {"api_base": "", "identity_url": ""}


def test_behind_the_proxy_the_api_and_the_login_are_under_api():
    assert page_config(_request(x_api_base="/api/intake"), "") == {
        "api_base": "/api/intake",
        "identity_url": "/api/identity",
    }
    # An issuer set by configuration (an outside OIDC provider) stays the issuer.
    assert page_config(_request(x_api_base="/api/intake"), "https://id.example.org")["identity_url"] == (
        "https://id.example.org"
    )


def test_a_forged_header_cannot_send_the_page_and_its_token_elsewhere():
    for forged in ("https://evil.example", "//evil.example/api/intake", "/api/intake/../x", "/api/"):
        assert page_config(_request(x_api_base=forged), "")["api_base"] == ""
