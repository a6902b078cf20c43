"""JSON bodies of the hot pages, serialized from their fields without a second
validation.

A route that returns a model has FastAPI validate it against the response
model and then serialize it. For the pages every consumer opens (consumption,
readings history, the yearly summary) the validation checked values the route
had just built from typed rows: ~60-90 µs of the worker's ~1.3 ms per request
(a 100-row history page: 91 µs to validate, 68 µs to serialize). Those routes
build plain dicts in the response model's field names, return them through
``json_body``, and declare ``response_model`` for the OpenAPI document.

What keeps a body true to its model: ``tests/portal/test_bodies.py`` parses
each route's body with its model and requires the same JSON back (every field,
default and alias), and the schemathesis test checks every response against
the document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Response
from pydantic_core import to_json


def json_body(fields: Mapping[str, Any]) -> Response:
    """``fields`` (plain values, or models, serialized by alias) as a JSON response."""
    return Response(to_json(fields, by_alias=True), media_type="application/json")
