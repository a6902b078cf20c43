"""Errors as RFC 9457 problem details (``application/problem+json``).

Routes raise ``ProblemError`` (or one of the helpers below); the handlers turn
it, FastAPI's validation errors, Starlette's HTTP errors and anything
unexpected into a problem document. A problem's ``type`` is
``urn:metergate:problem:<slug>``; plain HTTP errors use ``about:blank``.
Validation errors list what was wrong (``errors``) but never echo the input:
it may be a password.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:metergate:problem:"


class FieldError(BaseModel):
    loc: list[str | int] = Field(examples=[["body", "email"]])
    msg: str = Field(examples=["value is not a valid e-mail address"])
    type: str = Field(examples=["value_error"])


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:metergate:problem:not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "no such account",
                    "instance": "/api/v1/accounts/10000001",
                }
            ]
        },
    )

    type: str = Field(default="about:blank", examples=["urn:metergate:problem:not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(ge=400, le=599, examples=[404])
    detail: str | None = Field(default=None, examples=["no such account"])
    instance: str | None = Field(default=None, examples=["/api/v1/accounts/10000001"])
    errors: list[FieldError] | None = Field(
        default=None, description="Validation errors (422 only)."
    )
    retry_after_s: int | None = Field(default=None, description="Throttled requests (429 only).")


class ProblemError(Exception):
    """Raised by routes; becomes a problem document."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}


def not_found(detail: str = "not found") -> ProblemError:
    """The one answer for anything missing *or not yours*: never 403 on someone else's id."""
    return ProblemError(404, "not-found", "Not found", detail)


def unauthorized(detail: str = "log in first") -> ProblemError:
    return ProblemError(
        401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"}
    )


def forbidden(detail: str = "your role may not do this") -> ProblemError:
    return ProblemError(403, "forbidden", "Forbidden", detail)


def conflict(slug: str, detail: str) -> ProblemError:
    return ProblemError(409, slug, "Conflict", detail)


def invalid(slug: str, detail: str) -> ProblemError:
    """A well-formed request that the domain rules refuse."""
    return ProblemError(422, slug, "Unprocessable request", detail)


def _response(
    request: Request,
    *,
    status: int,
    type_: str,
    title: str,
    detail: str | None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "instance": request.url.path,
    }
    if detail is not None:
        body["detail"] = detail
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


async def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return _response(
        request,
        status=exc.status,
        type_=TYPE_PREFIX + exc.slug,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        extra=exc.extra,
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    from http import HTTPStatus

    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    if exc.status_code == 413:  # the body limit (portal_api.limits) while streaming
        return _response(
            request,
            status=413,
            type_=TYPE_PREFIX + "too-large",
            title="Request too large",
            detail=detail,
        )
    return _response(
        request,
        status=exc.status_code,
        type_="about:blank",
        title=title,
        detail=detail,
        headers=dict(exc.headers or {}),
    )


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(p) if not isinstance(p, int) else p for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    return _response(
        request,
        status=422,
        type_=TYPE_PREFIX + "validation",
        title="Invalid request",
        detail="the request does not match the schema",
        extra={"errors": errors},
    )


async def _bad_data(request: Request, exc: Exception) -> JSONResponse:
    """The store refused a value the schema let through (a NUL character, a
    number out of range, a violated check): the request's fault, not a crash."""
    log.warning(
        "store refused data on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return _response(
        request,
        status=422,
        type_=TYPE_PREFIX + "invalid-data",
        title="Invalid data",
        detail="a value cannot be stored (e.g. a NUL character or a value out of range)",
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(
        request,
        status=500,
        type_=TYPE_PREFIX + "internal",
        title="Internal server error",
        detail="the error was logged",
    )


_HANDLERS: dict[type[Exception], Any] = {
    ProblemError: _problem,
    StarletteHTTPException: _http,
    RequestValidationError: _validation,
    psycopg.DataError: _bad_data,
    psycopg.errors.CheckViolation: _bad_data,
}

RENDERED: tuple[type[Exception], ...] = tuple(_HANDLERS)
"""The errors rendered as problems by their own handlers (anything else is
the server-error handler's 500)."""


def install(app: FastAPI) -> None:
    """Register the handlers that make every error a problem document."""
    for exc, handler in _HANDLERS.items():
        app.add_exception_handler(exc, handler)
    app.add_exception_handler(Exception, _unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem statuses a route can answer with."""
    described = {
        400: "Bad request",
        401: "Not logged in, or the session expired",
        403: "The caller's role may not do this, or the CSRF token is missing or wrong",
        404: "No such resource, or not the caller's",
        409: "Conflicts with the current state",
        413: "The upload is too large",
        415: "The upload's content is not an accepted type",
        422: "The request is invalid",
        429: "Too many attempts; retry after the Retry-After header's seconds",
        503: "A dependency (mail, reconciler) is unavailable, or a query ran past its time",
    }
    return {s: {"model": Problem, "description": described.get(s, "Problem")} for s in statuses}
