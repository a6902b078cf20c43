"""The OpenAPI document is complete: every operation summarised, every error a
problem document, every model with examples, every route under /api/v1."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, item in doc["paths"].items() for m, op in item.items()]


def test_every_operation_is_documented(app: FastAPI) -> None:
    doc = app.openapi()
    operations = _operations(doc)
    assert len(operations) >= 80
    for method, path, op in operations:
        where = f"{method.upper()} {path}"
        assert path.startswith("/api/v1/"), where
        assert op.get("summary"), where
        assert op.get("tags"), where
        assert any(code.startswith("2") for code in op["responses"]), where
        for code, response in op["responses"].items():
            if int(code) >= 400:
                assert list(response["content"]) == ["application/problem+json"], where
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, where
    assert "HTTPValidationError" not in doc["components"]["schemas"]


PUBLIC = {
    "GET /api/v1/services",
    "GET /api/v1/news",
    "GET /api/v1/news/{news_id}",
    "POST /api/v1/auth/register",
    "POST /api/v1/auth/confirm",
    "POST /api/v1/auth/login",
    "POST /api/v1/auth/token",
    "POST /api/v1/auth/password-reset",
    "POST /api/v1/auth/password-reset/confirm",
    "POST /api/v1/auth/email-change/confirm",
}
"""The operations anyone may call without a session."""


def test_security_schemes_and_examples(app: FastAPI) -> None:
    doc = app.openapi()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert (schemes["cookie"]["in"], schemes["cookie"]["name"]) == ("cookie", "mg_session")
    open_ = {f"{m.upper()} {p}" for m, p, op in _operations(doc) if not op.get("security")}
    assert open_ == PUBLIC  # every other route declares the session schemes
    for _, _, op in _operations(doc):
        assert op.get("security") in (None, [{"bearer": []}, {"cookie": []}])
    schemas = doc["components"]["schemas"]
    with_examples = [
        name
        for name, s in schemas.items()
        if s.get("examples") or any("examples" in f for f in s.get("properties", {}).values())
    ]
    assert len(with_examples) / len(schemas) > 0.8, sorted(set(schemas) - set(with_examples))


async def test_the_document_is_served(client) -> None:  # type: ignore[no-untyped-def]
    r = await client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.json()["info"]["title"] == "metergate portal API"
    assert (await client.get("/api/v1/docs")).status_code == 200
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "instance": "/api/v1/nothing-here",
    }
