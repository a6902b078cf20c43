"""Sessions end after an idle timeout as well as at their expiry; last use is
written at most once a minute. Time is moved by moving the stored last use."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from portal_api import PortalSettings, create_app
from tests.portal.world import Portal, add_household

IDLE_S = 600


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"session_idle_timeout_s": IDLE_S}


def _last_used(portal: Portal) -> datetime:
    rows = portal.sql("SELECT last_used_at FROM sessions")
    assert len(rows) == 1
    value = rows[0][0]
    assert isinstance(value, datetime)
    return value


def _unused_for(portal: Portal, seconds: float) -> None:
    """Pretend the only session was last used ``seconds`` ago."""
    portal.sql("UPDATE sessions SET last_used_at = now() - %s", (timedelta(seconds=seconds),))


async def _login(portal: Portal, kind: str) -> httpx.AsyncClient:
    portal.add_user("idle@example.com")
    if kind == "bearer":
        return await portal.bearer("idle@example.com")
    return await portal.browser("idle@example.com")


@pytest.mark.parametrize("kind", ["bearer", "cookie"])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_idle_session_is_refused_and_deleted(
    portal: Portal, kind: str, method: str
) -> None:
    """Refused like an expired session, and gone from the store — also on a
    state-changing request, whose own transaction is rolled back."""
    client = await _login(portal, kind)
    assert (await client.get("/api/v1/me")).status_code == 200
    _unused_for(portal, IDLE_S + 1)
    if method == "GET":
        r = await client.get("/api/v1/me")
    else:
        r = await client.post("/api/v1/auth/logout")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["type"] == "urn:metergate:problem:unauthorized"
    assert portal.sql("SELECT count(*) FROM sessions") == [(0,)]
    _unused_for(portal, 0)  # nothing left to revive
    assert (await client.get("/api/v1/me")).status_code == 401


@pytest.mark.parametrize("kind", ["bearer", "cookie"])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_point_routes_keep_and_end_sessions_like_every_route(
    portal: Portal, kind: str, method: str
) -> None:
    """The point-scoped routes read the session and the account's points in one
    statement (``accounts.consumer_points``): a use within the timeout moves
    the last use forward (a refused write too), an idle session is refused and
    deleted."""
    home = add_household(portal.url, 31)
    portal.add_user("idle@example.com", accounts=[home.account_id])
    if kind == "bearer":
        client = await portal.bearer("idle@example.com")
    else:
        client = await portal.browser("idle@example.com")

    async def call() -> httpx.Response:
        base = f"/api/v1/accounts/{home.number}/readings"
        if method == "GET":
            return await client.get(f"{base}/form")
        return await client.post(f"{base}/preview", json={})

    _unused_for(portal, IDLE_S - 2)
    assert (await call()).status_code == (200 if method == "GET" else 422)
    assert _used_just_now(portal)
    _unused_for(portal, IDLE_S + 1)
    r = await call()
    assert r.status_code == 401
    assert r.json()["type"] == "urn:metergate:problem:unauthorized"
    assert portal.sql("SELECT count(*) FROM sessions") == [(0,)]


async def test_idle_and_expired_sessions_get_the_same_answer(portal: Portal) -> None:
    portal.add_user("idle@example.com")
    idle, expired = await portal.bearer("idle@example.com"), await portal.bearer("idle@example.com")
    idle_token = idle.headers["Authorization"].removeprefix("Bearer ")
    portal.sql(
        "UPDATE sessions SET last_used_at = now() - %s WHERE token_hash = sha256(%s)",
        (timedelta(seconds=IDLE_S + 1), idle_token.encode()),
    )
    portal.sql(
        "UPDATE sessions SET expires_at = now() - interval '1 second'"
        " WHERE token_hash <> sha256(%s)",
        (idle_token.encode(),),
    )
    a, b = await idle.get("/api/v1/me"), await expired.get("/api/v1/me")
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


async def test_a_session_in_use_stays_alive(portal: Portal) -> None:
    """Used just inside the timeout, again and again: it never ends, because each
    use moves the last use forward — also a write that is refused (422), whose
    own transaction rolls back."""
    client = await _login(portal, "cookie")
    for _ in range(3):
        _unused_for(portal, IDLE_S - 2)
        assert (await client.get("/api/v1/me")).status_code == 200
        assert _used_just_now(portal)
        _unused_for(portal, IDLE_S - 2)
        assert (await client.post("/api/v1/accounts", json={})).status_code == 422
        assert _used_just_now(portal)
    assert (await client.get("/api/v1/me")).status_code == 200


def _used_just_now(portal: Portal) -> bool:
    return portal.sql("SELECT now() - last_used_at < interval '5 seconds' FROM sessions") == [
        (True,)
    ]


async def test_last_use_is_written_at_most_once_a_minute(portal: Portal) -> None:
    client = await _login(portal, "cookie")
    first = _last_used(portal)
    for _ in range(5):
        assert (await client.get("/api/v1/me")).status_code == 200
    assert _last_used(portal) == first  # no write per request
    portal.sql("UPDATE sessions SET last_used_at = last_used_at - interval '59 seconds'")
    assert (await client.get("/api/v1/me")).status_code == 200
    assert _last_used(portal) == first - timedelta(seconds=59)  # still under a minute old
    portal.sql("UPDATE sessions SET last_used_at = last_used_at - interval '2 seconds'")
    assert (await client.get("/api/v1/me")).status_code == 200
    assert _last_used(portal) > first  # over a minute: written now


async def test_a_wrong_kind_of_token_neither_refreshes_nor_ends_a_session(
    portal: Portal,
) -> None:
    client = await _login(portal, "bearer")
    raw = client.headers["Authorization"].removeprefix("Bearer ")
    _unused_for(portal, 120)
    before = _last_used(portal)
    as_cookie = portal.make_client()
    as_cookie.cookies.set("mg_session", raw, domain="testserver", path="/api")
    assert (await as_cookie.get("/api/v1/me")).status_code == 401
    assert _last_used(portal) == before
    _unused_for(portal, IDLE_S + 1)
    assert (await as_cookie.get("/api/v1/me")).status_code == 401
    assert portal.sql("SELECT count(*) FROM sessions") == [(1,)]


async def test_start_purges_idle_sessions(portal: Portal) -> None:
    portal.add_user("idle@example.com")
    await portal.bearer("idle@example.com")
    await portal.bearer("idle@example.com")
    portal.sql(
        "UPDATE sessions SET last_used_at = now() - %s WHERE id = (SELECT min(id) FROM sessions)",
        (timedelta(seconds=IDLE_S + 1),),
    )
    app = create_app(database_url=portal.url, settings=portal.settings, pool_max_size=2)
    async with app.router.lifespan_context(app):
        pass
    assert portal.sql("SELECT count(*) FROM sessions") == [(1,)]


def test_the_idle_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METERGATE_SESSION_IDLE_TIMEOUT_S", raising=False)
    assert PortalSettings().session_idle_timeout == timedelta(minutes=30)
    monkeypatch.setenv("METERGATE_SESSION_IDLE_TIMEOUT_S", "900")
    assert PortalSettings().session_idle_timeout == timedelta(minutes=15)
    monkeypatch.setenv("METERGATE_SESSION_IDLE_TIMEOUT_S", "59")
    with pytest.raises(ValueError, match="greater than or equal to 300"):
        PortalSettings()
