"""The fast path (``portal_api.fastpath``) answers exactly as the routes do.

The same requests go to the app (fast path on) and to a second app on the
same store with it off; status, headers and body must be the same. The app's
counts tell which requests the fast path answered itself, so that a fast
path that never answers fails too."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.routing import APIRoute

from portal_api import PortalSettings, create_app
from portal_api.deps import AccountPoint, Conn, CurrentUser
from portal_api.fastpath import Counts, FastPath, fast_path
from tests.portal.world import World


@dataclass
class Pair:
    fast: httpx.AsyncClient
    plain: httpx.AsyncClient
    counts: Counts
    plain_app: FastAPI

    async def same(self, url: str) -> tuple[httpx.Response, bool]:
        """GET ``url`` from both apps, check the answers match; the answer and
        whether the fast path gave it."""
        before = self.counts.served
        fast = await self.fast.get(url)
        served = self.counts.served > before
        plain = await self.plain.get(url)
        assert (fast.status_code, fast.text) == (plain.status_code, plain.text), url
        assert fast.headers.multi_items() == plain.headers.multi_items(), url
        return fast, served


@pytest.fixture
async def plain_app(
    portal_url: str, portal_settings: PortalSettings, app: FastAPI
) -> AsyncIterator[FastAPI]:
    settings = portal_settings.model_copy(update={"fast_path": False})
    application = create_app(database_url=portal_url, settings=settings, pool_max_size=4)
    async with application.router.lifespan_context(application):
        yield application


def _client(app: FastAPI, headers: httpx.Headers) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.30", 40000))
    return httpx.AsyncClient(transport=transport, base_url="https://testserver", headers=headers)


@pytest.fixture
async def pair(world: World, app: FastAPI, plain_app: FastAPI) -> AsyncIterator[Pair]:
    """Consumer A on both apps, remembered by the fast one."""
    headers = world.clients["consumer_a"].headers
    p = Pair(_client(app, headers), _client(plain_app, headers), app.state.fast_path, plain_app)
    deadline = time.monotonic() + 5.0
    while not app.state.callers.live:  # nothing is remembered until the listener stands
        assert time.monotonic() < deadline, "the callers' listener did not start"
        await asyncio.sleep(0.01)
    for path in ("consumption", "consumption/yearly", "history/readings"):
        r = await p.fast.get(f"/api/v1/accounts/{world.a.number}/{path}")
        assert r.status_code == 200, r.text
    yield p
    await p.fast.aclose()
    await p.plain.aclose()


async def test_the_usual_pages_are_served_by_the_fast_path_as_by_the_routes(
    pair: Pair, world: World
) -> None:
    base = f"/api/v1/accounts/{world.a.number}"
    now = datetime.now(UTC)
    urls = [
        f"{base}/consumption",
        *(f"{base}/consumption?group_by={g}" for g in ("hour", "day", "week", "month", "year")),
        f"{base}/consumption?group_by=quarter&order_by=period",
        f"{base}/consumption?group_by=hour&page_size=7&page=3",
        f"{base}/consumption?period_from=" + quote((now - timedelta(days=3)).isoformat()),
        f"{base}/consumption?period_from=2026-01-01&period_to=2026-12-01T00:00:00Z",
        f"{base}/consumption?eic={world.a.eic.lower()}&unknown=1",
        f"{base}/consumption/yearly",
        f"{base}/consumption/yearly?year={now.year}",
        f"{base}/consumption/yearly?year=2001",
        f"{base}/history/readings",
        f"{base}/history/readings?page_size=5&source=auto",
        f"{base}/history/readings?source=auto&source=consumer",
    ]
    for url in urls:
        response, served = await pair.same(url)
        assert response.status_code == 200, url
        assert served, url
    # a page's next link leads to a page the fast path serves as well
    first, _ = await pair.same(f"{base}/history/readings?page_size=3")
    nxt = httpx.URL(first.json()["next"])
    response, served = await pair.same(f"{nxt.path}?{nxt.query.decode()}")
    assert response.status_code == 200
    assert served


async def test_what_it_cannot_answer_goes_to_the_route(pair: Pair, world: World) -> None:
    base = f"/api/v1/accounts/{world.a.number}"
    refused = [
        f"{base}/consumption?group_by=minute",
        f"{base}/consumption?page_size=0",
        f"{base}/consumption?page_size=25001",
        f"{base}/consumption?page_size=",
        f"{base}/consumption?period_from=2026-02-01&period_to=2026-01-01",
        f"{base}/consumption?period_from=1999-12-31T23:00:00Z",
        f"{base}/consumption?group_by=hour&period_from=2020-01-01&period_to=2026-01-01",
        f"{base}/consumption?period_from=yesterday",
        f"{base}/consumption?eic=62Z0000000000099",
        f"{base}/consumption?eic=short",
        f"{base}/consumption/yearly?year=1999",
        f"{base}/history/readings?cursor=not-a-cursor",
        f"{base}/history/readings?source=gossip",
        f"{base}/history/readings?page_size=1001",
        f"/api/v1/accounts/{world.b.number}/consumption",  # someone else's account
        "/api/v1/accounts/99999999/history/readings",
        "/api/v1/accounts/no%20such/consumption/yearly",
    ]
    for url in refused:
        response, served = await pair.same(url)
        assert response.status_code >= 400, url
        assert not served, url
    # a repeated parameter: FastAPI takes the last; the fast path leaves it to FastAPI
    response, served = await pair.same(f"{base}/consumption?page_size=5&page_size=6")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 6
    assert not served


async def test_refused_callers_go_to_the_route(
    pair: Pair, world: World, app: FastAPI, plain_app: FastAPI
) -> None:
    url = f"/api/v1/accounts/{world.a.number}/consumption"
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic eA=="}):
        fast = _client(app, httpx.Headers(headers))
        plain = _client(plain_app, httpx.Headers(headers))
        async with fast, plain:
            before = pair.counts.served
            a, b = await fast.get(url), await plain.get(url)
            assert a.status_code == b.status_code == 401
            assert a.text == b.text
            assert pair.counts.served == before
    staff = world.clients["operator"]  # a session, but not a consumer's
    before = pair.counts.served
    assert (await staff.get(url)).status_code == 403
    assert pair.counts.served == before


async def test_a_caller_not_yet_remembered_is_looked_up_and_remembered(
    pair: Pair, world: World, app: FastAPI
) -> None:
    """Consumer B's first read: the fast path looks the caller up as the route
    would, serves the page, and the next read needs no lookup."""
    headers = world.clients["consumer_b"].headers
    url = f"/api/v1/accounts/{world.b.number}/consumption/yearly"
    remembered = len(app.state.callers)
    async with _client(app, headers) as fast, _client(pair.plain_app, headers) as plain:
        before = pair.counts.served
        a, b = await fast.get(url), await plain.get(url)
        assert a.status_code == b.status_code == 200
        assert a.text == b.text
        assert pair.counts.served == before + 1
        assert len(app.state.callers) == remembered + 1


async def test_random_queries_get_the_routes_answers(pair: Pair, world: World) -> None:
    """Queries drawn from the parameters' names and from valid and invalid
    values alike (seeded: the same draws every run)."""
    rng = random.Random(20261207)
    values = {
        "group_by": ["hour", "day", "week", "month", "quarter", "year", "Day", ""],
        "order_by": ["period", "-period", "PERIOD"],
        "page_size": ["1", "3", "100", "+4", " 5", "5.0", "0", "-1", "x", "25000", "1001"],
        "page": ["1", "2", "40", "0", "1e3"],
        "period_from": ["2026-11-01", "2026-11-20T10:15:00+02:00", "1764000000", "2101-01-01",
                        "2026-13-01", "", (datetime.now(UTC) - timedelta(days=2)).isoformat()],
        "period_to": ["2026-12-31", "2027-01-01T00:00:00Z", "2026-11-02", "garbage"],
        "year": ["2026", "2025", "2100", "20x6", ""],
        "eic": [world.a.eic, world.a.eic.lower(), world.b.eic, "x" * 16, ""],
        "source": ["auto", "meter", "consumer", "controller", "estimate", "correction", "fake"],
        "cursor": ["", "e30", "W10"],
        "other": ["1", ""],
    }  # fmt: skip
    paths = ("consumption", "consumption/yearly", "history/readings")
    answered = served = 0
    for _ in range(240):
        keys = rng.sample(sorted(values), rng.randint(0, 4))
        if rng.random() < 0.2 and keys:
            keys.append(keys[0])  # a repeated parameter
        query = "&".join(f"{k}={quote(rng.choice(values[k]))}" for k in keys)
        url = f"/api/v1/accounts/{world.a.number}/{rng.choice(paths)}?{query}"
        response, by_fast_path = await pair.same(url)
        answered += response.status_code == 200
        served += by_fast_path
    assert served > 40  # both ways were taken
    assert 240 - served > 40
    assert answered > served


def test_a_route_it_cannot_call_is_refused_at_start() -> None:
    router = APIRouter()

    @router.get("/accounts/{account_number}/odd")
    @fast_path
    async def odd(user: CurrentUser, point: AccountPoint, conn: Conn) -> Response:
        return Response()

    @router.get("/accounts/{account_number}/fine")
    @fast_path
    async def fine(
        request: Request,
        point: AccountPoint,
        conn: Conn,
        n: Annotated[int, Query(ge=1)] = 1,
    ) -> Response:
        return Response()

    routes = [(r.path, r) for r in router.routes if isinstance(r, APIRoute)]
    with pytest.raises(TypeError, match="cannot supply parameter user"):
        FastPath(FastAPI(), routes=routes, counts=Counts())
    fine_only = [(path, r) for path, r in routes if r.name == "fine"]
    assert len(FastPath(FastAPI(), routes=fine_only, counts=Counts()).routes) == 1
