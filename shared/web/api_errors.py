"""Error answers as the services' OpenAPI documents them, so clients (and the fuzzer) can rely on them.

Every error but FastAPI's own 422 has the body `{"detail": "<field>: <what is wrong>"}`. Routes list the
errors they really answer with `responses=errors(404, 409)`; `document_common_errors` adds what the frame
answers everywhere: 401 and 403 on routes that require a role, 400 on routes that read a body.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel


class ErrorOut(BaseModel):
    """The body of an error answer."""

    detail: str


_WHY = {
    400: "The body could not be read: not UTF-8, or not the declared media type",
    401: "No valid bearer token",
    403: "The caller's roles do not allow this",
    404: "Not found, or outside the caller's scope",
    409: "Conflicts with the record's current state",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: the error statuses it really answers, each with an `ErrorOut` body."""
    return {code: {"model": ErrorOut, "description": _WHY[code]} for code in codes}


def _requires_role(dependant) -> bool:
    return any(getattr(d.call, "roles", None) or _requires_role(d) for d in dependant.dependencies)


def _error_response(code: int) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ErrorOut"}
    return {"description": _WHY[code], "content": {"application/json": {"schema": schema}}}


def _add_common_errors(app: FastAPI, schema: dict[str, Any]) -> None:
    # Routes as served: with the prefixes and dependencies of the routers that include them.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        codes = [401, 403] if _requires_role(route.dependant) else []
        if route.body_field is not None:
            codes.append(400)
        for method in route.methods:
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            for code in codes:
                operation["responses"].setdefault(str(code), _error_response(code))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorOut", ErrorOut.model_json_schema())


def document_common_errors(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Make `app.openapi` list the 400/401/403 the frame answers; routes added later are covered too."""
    generate = app.openapi
    done: list[dict[str, Any]] = []  # the document already annotated; FastAPI makes a new one for new routes

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not done or done[0] is not schema:
            _add_common_errors(app, schema)
            done[:] = [schema]
        return schema

    app.openapi = openapi
    return openapi
