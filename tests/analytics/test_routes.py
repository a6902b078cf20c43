"""The /api/v1/analytics routes over HTTP: analysts and admins only; JSON equal to
the query layer; CSV and Parquet downloads; problems for bad requests."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import httpx
import psycopg
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI

from ingest.analytics import Analytics
from portal_api import PortalSettings, create_app
from portal_api.routers import analytics as analytics_routes
from portal_api.security.tokens import new_token, token_hash
from tests.analytics.world import World

ROLES = ("consumer", "operator", "analyst", "admin")
PERIOD = {"period_from": "2026-10-24T00:00:00+03:00", "period_to": "2026-10-29T00:00:00+02:00"}
ROUTES = {
    "/api/v1/analytics/series": {"bucket": "day"},
    "/api/v1/analytics/aggregates": {"bucket": "day", "by": ["zone", "region"]},
    "/api/v1/analytics/completeness": {"by": ["day"]},
    "/api/v1/analytics/top-consumers": {"n": 5},
    "/api/v1/analytics/load-profile": {},
}


def _app(url: str) -> FastAPI:
    app = create_app(
        database_url=url, settings=PortalSettings(argon2_memory_kib=1024), pool_max_size=3
    )
    return app


def _bearer(url: str, role: str) -> str:
    token = new_token()
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "INSERT INTO users (email, role, confirmed_at, terms_accepted_at, data_consent_at)"
            " VALUES (%s, %s, now(), now(), now()) RETURNING id",
            (f"{role}-{token[:8]}@example.test", role),
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, kind, expires_at)"
            " VALUES (%s, %s, 'bearer', now() + interval '1 hour')",
            (token_hash(token), row[0]),
        )
    return token


@pytest.fixture(scope="session")
async def clients(seeded: World) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    app = _app(seeded.url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        out = {"anonymous": httpx.AsyncClient(transport=transport, base_url="https://t")}
        for role in ROLES:
            headers = {"Authorization": f"Bearer {_bearer(seeded.url, role)}"}
            out[role] = httpx.AsyncClient(
                transport=transport, base_url="https://t", headers=headers
            )
        yield out
        for client in out.values():
            await client.aclose()


@pytest.mark.parametrize("path", list(ROUTES))
async def test_only_analysts_and_admins(clients: dict[str, httpx.AsyncClient], path: str) -> None:
    params = {**PERIOD, **ROUTES[path]}
    r = await clients["anonymous"].get(path, params=params)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    for role in ("consumer", "operator"):
        r = await clients[role].get(path, params=params)
        assert r.status_code == 403, role
        r = await clients[role].get(path, params={**params, "format": "csv"})
        assert r.status_code == 403, f"{role} must not download either"
    for role in ("analyst", "admin"):
        r = await clients[role].get(path, params=params)
        assert r.status_code == 200, r.text
        assert r.json()["count"] == len(r.json()["results"]) > 0


def test_every_analytics_route_is_covered() -> None:
    app = _app("postgresql://unused")
    paths = {p for p in app.openapi()["paths"] if p.startswith("/api/v1/analytics")}
    assert paths == set(ROUTES)


async def test_series_json_equals_the_client(
    clients: dict[str, httpx.AsyncClient], seeded: World
) -> None:
    params = {**PERIOD, "bucket": "hour", "region": "Луцьк", "zone": "total"}
    r = await clients["analyst"].get("/api/v1/analytics/series", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["table"] == "readings"
    assert body["unit"] == "kWh"
    df = Analytics(seeded.url).series(
        PERIOD["period_from"], PERIOD["period_to"], "hour", region="Луцьк", zone="total"
    )
    assert body["count"] == len(df) > 90
    first = body["results"][0]
    assert first["interval_start"] == df.index[0].isoformat()
    assert [x["serial"] for x in body["results"]] == list(df.serial)
    assert [None if x["kwh"] is None else float(x["kwh"]) for x in body["results"]] == list(df.kwh)


async def test_aggregates_default_and_all(
    clients: dict[str, httpx.AsyncClient], seeded: World
) -> None:
    analyst = clients["analyst"]
    r = await analyst.get("/api/v1/analytics/aggregates", params={**PERIOD, "bucket": "month"})
    assert r.status_code == 200, r.text
    monthly = "readings_daily"  # not readings_monthly: see buckets.table_for
    assert r.json()["table"] == monthly
    zones = {x["zone"] for x in r.json()["results"]}
    assert zones == {"total", "day", "night", "peak", "half_peak"}
    r = await analyst.get(
        "/api/v1/analytics/aggregates", params={**PERIOD, "bucket": "month", "by": "all"}
    )
    (row,) = r.json()["results"]
    assert row["zone"] is None
    assert row["meters"] > 5
    assert float(row["sum_kwh"]) > 0


@pytest.mark.parametrize("path", list(ROUTES))
async def test_csv_and_parquet_downloads(clients: dict[str, httpx.AsyncClient], path: str) -> None:
    analyst = clients["analyst"]
    params = {**PERIOD, **ROUTES[path]}
    expected = (await analyst.get(path, params=params)).json()
    r = await analyst.get(path, params={**params, "format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-metergate-table"] == expected["table"]
    lines = list(csv.DictReader(io.StringIO(r.text)))
    assert len(lines) == expected["count"]
    r = await analyst.get(path, params={**params, "format": "parquet"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(r.content))
    assert table.num_rows == expected["count"]
    assert table.column_names == list(lines[0])


@pytest.mark.parametrize(
    ("params", "slug"),
    [
        ({"bucket": "hour", "period_from": "2026-01-01", "period_to": "2026-06-01"},
         "period-too-long"),
        ({"period_from": "2026-06-01", "period_to": "2026-01-01"}, "bad-period"),
        ({"bucket": "fortnight"}, "validation"),
        ({"plan": "four_zone"}, "validation"),
        ({"region": ""}, "validation"),
    ],
    ids=["too-long", "reversed", "bucket", "plan", "empty-region"],
)  # fmt: skip
async def test_bad_requests_are_problems(
    clients: dict[str, httpx.AsyncClient], params: dict[str, str], slug: str
) -> None:
    r = await clients["analyst"].get("/api/v1/analytics/series", params=params)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == f"urn:metergate:problem:{slug}"


async def test_json_stops_at_the_row_limit(
    clients: dict[str, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analytics_routes, "JSON_MAX_ROWS", 10)
    params = {**PERIOD, "bucket": "hour"}
    r = await clients["analyst"].get("/api/v1/analytics/series", params=params)
    assert r.status_code == 422
    assert r.json()["type"] == "urn:metergate:problem:too-many-rows"
    r = await clients["analyst"].get("/api/v1/analytics/series", params={**params, "format": "csv"})
    assert r.status_code == 200
    assert len(r.text.splitlines()) > 11


@pytest.mark.parametrize("path", list(ROUTES))
async def test_defaults_answer(clients: dict[str, httpx.AsyncClient], path: str) -> None:
    """No parameters at all: a default period ending now (what the portal's role
    matrix sends)."""
    r = await clients["admin"].get(path)
    assert r.status_code == 200, r.text
    assert r.json()["count"] == len(r.json()["results"])


async def test_a_query_past_its_timeout_is_a_503(seeded: World) -> None:
    """The analytics statement timeout holds whatever makes a query slow; here a
    lock held on the rollup (a lock wait counts towards the timeout)."""
    app = create_app(
        database_url=seeded.url,
        settings=PortalSettings(argon2_memory_kib=1024, analytics_statement_timeout_s=0.3),
        pool_max_size=2,
    )
    headers = {"Authorization": f"Bearer {_bearer(seeded.url, 'analyst')}"}
    path = "/api/v1/analytics/completeness"
    params = {**PERIOD, **ROUTES[path]}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://t", headers=headers
        ) as c:
            assert (await c.get(path, params=params)).status_code == 200
            with psycopg.connect(seeded.url) as blocker:
                blocker.execute("LOCK TABLE readings IN ACCESS EXCLUSIVE MODE")
                r = await c.get(path, params=params)
                blocker.rollback()
            assert r.status_code == 503
            assert r.json()["type"].endswith(":query-timeout")
            assert (await c.get(path, params=params)).status_code == 200
