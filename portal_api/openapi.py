"""The OpenAPI document: problem responses under ``application/problem+json``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from portal_api.deps import SECURITY_SCHEMES, authenticated
from portal_api.errors import PROBLEM_MEDIA_TYPE
from portal_api.routers.api import documented, routes

DESCRIPTION = """\
The consumer cabinet (P1–P20), the staff side and analysts' series of the
metergate meter-data service.

**Sessions.** Browsers log in with `POST /api/v1/auth/login` (an HttpOnly
`mg_session` cookie; state-changing requests must send the returned
`csrf_token` in `X-CSRF-Token`). API clients use `POST /api/v1/auth/token` and
`Authorization: Bearer <token>`.

**Accounts.** Account-scoped routes name a personal account linked to the
caller in the path; anyone else's account or record is a 404.

**Units.** Energy in exact kWh strings (`"12.345"`) and integer Wh; money in
integer kopiykas; times in ISO 8601 with offset, buckets in Kyiv local time.

**Errors.** RFC 9457 problem details (`application/problem+json`).
"""


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with a cached, post-processed schema."""

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=DESCRIPTION,
                routes=documented(),
                tags=None,
            )
            _security(doc)
            _problem_media_types(doc)
            _drop_default_validation_schemas(doc)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = schema  # type: ignore[method-assign]


def _security(doc: dict[str, Any]) -> None:
    """Declare the session schemes on every route that reads the caller's
    session (the dependencies read the credentials themselves)."""
    doc.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    requirement: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
    for path, route in routes():
        if route.include_in_schema and authenticated(route.dependant):
            for method in route.methods or ():
                doc["paths"][path][method.lower()]["security"] = requirement


def _problem_media_types(doc: dict[str, Any]) -> None:
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                if not status.isdigit() or int(status) < 400:
                    continue
                content = response.get("content", {})
                if "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
                content.setdefault(
                    PROBLEM_MEDIA_TYPE, {"schema": {"$ref": "#/components/schemas/Problem"}}
                )
                response["content"] = {PROBLEM_MEDIA_TYPE: content[PROBLEM_MEDIA_TYPE]}
            if "requestBody" in operation:
                operation["responses"].setdefault(
                    "400",
                    {
                        "description": "The body cannot be parsed (not UTF-8, not JSON)",
                        "content": {
                            PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                        },
                    },
                )
            operation.setdefault("responses", {}).setdefault(
                "422",
                {
                    "description": "The request is invalid",
                    "content": {
                        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                    },
                },
            )


def _drop_default_validation_schemas(doc: dict[str, Any]) -> None:
    """FastAPI's own 422 schema is replaced by Problem everywhere."""
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            response = operation.get("responses", {}).get("422")
            if response is None:
                continue
            schema = response.get("content", {}).get(PROBLEM_MEDIA_TYPE, {}).get("schema", {})
            if schema.get("$ref", "").endswith("/HTTPValidationError"):
                response["content"][PROBLEM_MEDIA_TYPE]["schema"] = {
                    "$ref": "#/components/schemas/Problem"
                }
    schemas = doc.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
