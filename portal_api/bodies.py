"""JSON bodies of the hot pages, serialized from their fields without a second
validation.

A route that returns a model has FastAPI validate it against the response
model and then serialize it. For the pages every consumer opens (consumption,
readings history, the yearly summary) the validation checked values the route
had just built from typed rows: ~60-90 µs of the worker's ~1.3 ms per request
(a 100-row history page: 91 µs to validate, 68 µs to serialize). Those routes
build plain dicts in the response model's field names, return them through
``json_body``, and declare ``response_model`` for the OpenAPI document.

The dicts are written by orjson: a 100-row history page in 36 µs where
pydantic's ``to_json``, which works out each value's type as it goes, took
119 µs. Both write the same bytes for these bodies' types (str, int, None,
lists, dicts, dates, and datetimes: ``Z`` for UTC, microseconds only when
there are any); a model inside a body goes through pydantic, by alias.

What keeps a body true to its model: ``tests/portal/test_bodies.py`` parses
each route's body with its model and requires the same JSON back (every field,
default and alias), and the schemathesis test checks every response against
the document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel

_OPTIONS = orjson.OPT_UTC_Z  # as pydantic writes UTC


def _model(value: object) -> Any:
    """What orjson cannot write itself: a model, as its JSON fields by alias."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"{type(value).__name__} is not a JSON body value")


def json_body(fields: Mapping[str, Any]) -> Response:
    """``fields`` (plain values, or models, serialized by alias) as a JSON response."""
    return Response(
        orjson.dumps(fields, default=_model, option=_OPTIONS), media_type="application/json"
    )
