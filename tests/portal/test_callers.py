"""Remembered callers of point-scoped reads (``portal_api.security.callers``):
a repeated read skips the lookup, and every change that could make the answer
stale reaches each API process through the store's notices (migration 0011)
before it is trusted again. The clients here send their requests without the
fixtures' wait for notices (``Clients.settled``); the tests wait for the app
to forget instead, and fail when no notice comes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from ingest.portal import changes
from ingest.portal.changes import Change
from portal_api.security import callers as callers_module
from portal_api.security.callers import Callers, follow
from tests.portal.world import Household, Portal, add_household


def _client(app: FastAPI, token: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.20", 40000))
    return httpx.AsyncClient(
        transport=transport,
        base_url="https://testserver",
        headers={"Authorization": f"Bearer {token}"},
    )


async def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 5.0
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within 5 s: {what}")
        await asyncio.sleep(0.01)


class Scene:
    """A consumer with a household and a bearer token, a client that does not
    wait for notices, and the app's remembered callers."""

    def __init__(self, portal: Portal, app: FastAPI, home: Household, user_id: int, token: str):
        self.portal, self.app, self.home, self.user_id = portal, app, home, user_id
        self.client = _client(app, token)
        self.callers: Callers[object] = app.state.callers

    async def page(self) -> httpx.Response:
        return await self.client.get(f"/api/v1/accounts/{self.home.number}/readings/form")

    async def forgotten(self) -> None:
        """The app has forgotten the caller: the write's notice arrived. (Not
        the next request at once: PostgreSQL delivers a notice a moment after
        the commit, later on a loaded machine; until then a read is still
        answered from memory.)"""
        await _eventually(lambda: len(self.callers) == 0, "the notice is applied")

    def quietly(self, query: str, params: tuple[object, ...] = ()) -> None:
        """A write that announces nothing: triggers off for its transaction."""
        with psycopg.connect(self.portal.url) as conn:
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(query, params)  # type: ignore[arg-type]


@pytest.fixture
async def scene(portal: Portal, app: FastAPI) -> AsyncIterator[Scene]:
    home = add_household(portal.url, 71)
    user_id = portal.add_user("remembered@example.com", accounts=[home.account_id])
    bearer = await portal.bearer("remembered@example.com")
    token = bearer.headers["Authorization"].removeprefix("Bearer ")
    if app.state.callers.keep_s > 0:
        await _eventually(lambda: app.state.callers.live, "the listener stands")
    s = Scene(portal, app, home, user_id, token)
    yield s
    await s.client.aclose()


async def test_a_repeated_read_is_answered_from_memory_until_a_notice(scene: Scene) -> None:
    """With the session deleted behind the notices' back, the remembered caller
    still reads; a notice for the user (or for everyone) ends that."""
    assert (await scene.page()).status_code == 200
    scene.quietly("DELETE FROM sessions WHERE user_id = %s", (scene.user_id,))
    assert (await scene.page()).status_code == 200
    scene.portal.sql("SELECT pg_notify(%s, %s)", (changes.CHANNEL, f"user:{scene.user_id}"))
    await scene.forgotten()
    assert (await scene.page()).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        "DELETE FROM sessions WHERE user_id = {user}",  # logout, password change
        "UPDATE sessions SET last_used_at = now() - interval '1 day' WHERE user_id = {user}",
        "UPDATE users SET disabled_at = now() WHERE id = {user}",
        "UPDATE users SET role = 'operator' WHERE id = {user}",
        "DELETE FROM user_accounts WHERE user_id = {user}",
        "UPDATE accounts SET number = number || '-old' WHERE id = {account}",
        "DELETE FROM account_points WHERE account_id = {account}",
    ],
)
async def test_each_change_that_ends_access_ends_the_remembered_caller(
    scene: Scene, change: str
) -> None:
    assert (await scene.page()).status_code == 200
    assert len(scene.callers) == 1
    scene.portal.sql(change.format(user=scene.user_id, account=scene.home.account_id))
    await scene.forgotten()
    r = await scene.page()
    assert r.status_code in (401, 403, 404), r.text


async def test_a_logout_holds_for_the_next_read(scene: Scene) -> None:
    assert (await scene.page()).status_code == 200
    assert (await scene.client.post("/api/v1/auth/logout")).status_code == 204
    await scene.forgotten()
    assert (await scene.page()).status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE metering_points SET address = 'Луцьк, вул. Нова, 1' WHERE id = {point}",
        "UPDATE meters SET model = 'NIK 2104' WHERE id = {meter}",
        "UPDATE meter_installations SET install_place = 'сходова клітка' WHERE point_id = {point}",
    ],
)
async def test_a_change_to_the_point_is_seen_by_the_next_read(scene: Scene, change: str) -> None:
    before = (await scene.page()).json()
    scene.portal.sql(change.format(point=scene.home.point_id, meter=scene.home.meter_id))
    await scene.forgotten()
    after = (await scene.page()).json()
    assert after != before


async def test_a_replaced_meter_is_seen_by_the_next_read(scene: Scene) -> None:
    assert (await scene.page()).json()["meter_serial"] == scene.home.serial
    with psycopg.connect(scene.portal.url) as conn:
        conn.execute(
            "UPDATE meter_installations SET removed_at = now() WHERE point_id = %s",
            (scene.home.point_id,),
        )
        row = conn.execute(
            "INSERT INTO meters (serial, model, digits, zones, scales, registers)"
            " VALUES ('SN-NEW', 'GAMA 100', 6, 2, 2, '{1,2}') RETURNING id"
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO meter_installations (meter_id, point_id, install_place, installed_at)"
            " VALUES (%s, %s, 'фасад будинку', now())",
            (row[0], scene.home.point_id),
        )
    await scene.forgotten()
    assert (await scene.page()).json()["meter_serial"] == "SN-NEW"


async def test_readings_and_logins_announce_nothing(scene: Scene, portal: Portal) -> None:
    """The gateway's writes and new sessions leave remembered callers alone."""
    with psycopg.connect(portal.url, autocommit=True) as listener:
        listener.execute(f"LISTEN {changes.CHANNEL}")
        await portal.bearer("remembered@example.com")
        portal.sql(
            "INSERT INTO readings (meter_id, register, read_at, value_wh, source)"
            " VALUES (%s, 1, now(), 1000, 1)",
            (scene.home.meter_id,),
        )
        portal.sql("SELECT pg_notify(%s, 'mark:end')", (changes.CHANNEL,))
        got = []
        for notice in listener.notifies(timeout=5):
            got.append(notice.payload)
            if notice.payload == "mark:end":
                break
    # the client's requests send markers of their own (Clients.settled)
    assert [p for p in got if not p.startswith("mark:")] == []
    assert got[-1] == "mark:end"


async def test_another_consumers_token_never_reaches_a_remembered_account(
    scene: Scene, portal: Portal
) -> None:
    assert (await scene.page()).status_code == 200
    other = add_household(portal.url, 72)
    portal.add_user("other@example.com", accounts=[other.account_id])
    bearer = await portal.bearer("other@example.com")
    intruder = _client(scene.app, bearer.headers["Authorization"].removeprefix("Bearer "))
    async with intruder:
        r = await intruder.get(f"/api/v1/accounts/{scene.home.number}/readings/form")
    assert r.status_code == 404


async def test_a_lookup_that_a_notice_overtook_is_not_remembered(scene: Scene) -> None:
    callers = scene.callers
    since = callers.since()
    scene.portal.sql("SELECT pg_notify(%s, '*')", (changes.CHANNEL,))
    await _eventually(lambda: callers.since() != since, "the notice is applied")
    far = datetime.now(UTC) + timedelta(hours=1)
    callers.put("key", "stale", user_id=1, expires_at=far, since=since)
    assert callers.get("key") is None
    callers.put("key", "fresh", user_id=1, expires_at=far, since=callers.since())
    assert callers.get("key") == "fresh"


async def test_without_a_listener_nothing_is_remembered_until_it_is_back(
    scene: Scene,
) -> None:
    assert (await scene.page()).status_code == 200
    assert len(scene.callers) == 1
    ended = scene.portal.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'metergate-api-callers' AND datname = current_database()"
    )
    assert ended == [(True,)]
    await _eventually(lambda: not scene.callers.live, "the loss is noticed")
    assert len(scene.callers) == 0
    assert (await scene.page()).status_code == 200
    assert len(scene.callers) == 0
    await _eventually(lambda: scene.callers.live, "the listener is back")
    assert (await scene.page()).status_code == 200
    assert len(scene.callers) == 1


@pytest.fixture
async def own_callers(portal_url: str, app: FastAPI) -> AsyncIterator[Callers[str]]:
    """Callers with their own listener, on the test store."""
    callers: Callers[str] = Callers(keep_s=30, size=2, idle=timedelta(minutes=30))
    task = asyncio.create_task(follow(callers, portal_url, app.state.store.pool))
    await _eventually(lambda: callers.live, "the listener stands")
    yield callers
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_listener_that_hears_no_markers_is_not_trusted(
    portal_url: str, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Notices stay within a database: a listener on another one hears none of
    the store's, as behind a pooler that does not pass them on. Nothing is
    remembered, and it keeps trying."""
    monkeypatch.setattr(callers_module, "HEARTBEAT_WITHIN_S", 0.3)
    monkeypatch.setattr(callers_module, "RETRY_S", (0.05, 0.1))
    elsewhere = psycopg.conninfo.make_conninfo(portal_url, dbname="postgres")
    callers: Callers[str] = Callers(keep_s=30, size=10, idle=timedelta(minutes=30))
    task = asyncio.create_task(follow(callers, elsewhere, app.state.store.pool))
    try:
        attached = 0
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            assert not callers.live
            attached += callers._listener is not None
            far = datetime.now(UTC) + timedelta(hours=1)
            callers.put("k", "v", user_id=1, expires_at=far, since=callers.since())
            assert callers.get("k") is None
            await asyncio.sleep(0.01)
        assert attached > 0  # it did connect and subscribe, and was not trusted
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_an_entry_ends_with_its_session(own_callers: Callers[str]) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=0.2)
    own_callers.put("a", "x", user_id=1, expires_at=soon, since=own_callers.since())
    assert own_callers.get("a") == "x"
    await asyncio.sleep(0.3)
    assert own_callers.get("a") is None


async def test_the_oldest_entry_makes_room(own_callers: Callers[str]) -> None:
    far = datetime.now(UTC) + timedelta(hours=1)
    for key, user in (("a", 1), ("b", 2), ("c", 3)):
        own_callers.put(key, key, user_id=user, expires_at=far, since=own_callers.since())
    assert [own_callers.get(k) for k in "abc"] == [None, "b", "c"]


async def test_a_user_notice_forgets_that_user_only(own_callers: Callers[str]) -> None:
    far = datetime.now(UTC) + timedelta(hours=1)
    own_callers.put("a", "a", user_id=1, expires_at=far, since=own_callers.since())
    own_callers.put("b", "b", user_id=2, expires_at=far, since=own_callers.since())
    own_callers._apply(Change(user_id=1))
    assert [own_callers.get(k) for k in "ab"] == [None, "b"]


def test_notices_parse() -> None:
    assert changes.parse("user:42") == Change(user_id=42)
    assert changes.parse("mark:7") == Change(mark="7")
    assert changes.parse("*") == Change()
    assert changes.parse("user:x") == Change()  # unknown: forget everything


class TestOff:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"caller_cache_s": 0}

    async def test_nothing_is_remembered(self, scene: Scene) -> None:
        assert (await scene.page()).status_code == 200
        scene.quietly("DELETE FROM sessions WHERE user_id = %s", (scene.user_id,))
        assert (await scene.page()).status_code == 401
        assert len(scene.callers) == 0


async def test_entries_made_together_end_apart(own_callers: Callers[str]) -> None:
    """Each lives 50-100 % of keep_s (30 s here): not one second for all."""
    own_callers.size = 200
    far = datetime.now(UTC) + timedelta(hours=1)
    now = time.monotonic()
    for n in range(100):
        own_callers.put(n, "x", user_id=n, expires_at=far, since=own_callers.since())
    ends = [entry.until - now for entry in own_callers._entries.values()]
    assert len(ends) == 100
    assert min(ends) > 14.9
    assert max(ends) < 30.1
    assert max(ends) - min(ends) > 5


async def test_a_marker_back_as_the_listener_stops_does_not_keep_it_going(
    portal_url: str,
) -> None:
    """The app's shutdown cancels the listener; if a heartbeat's marker comes
    back in the same moment, the cancellation must still end it (Python 3.11's
    ``asyncio.wait_for`` returned the marker instead: the listener went on
    beating and the shutdown waited for it for ever)."""
    callers: Callers[str] = Callers(keep_s=30, size=10, idle=timedelta(minutes=30))
    async with await psycopg.AsyncConnection.connect(portal_url, autocommit=True) as conn:
        callers._listener = conn  # settle only asks whether a listener stands
        task = asyncio.create_task(callers.settle(conn, within=10))
        # sent: the connection is free again, and the task waits for the marker
        await _eventually(lambda: bool(callers._marks) and not conn.lock.locked(), "sent")
        (back,) = callers._marks.values()
        back.set_result(None)  # the listener hears the marker ...
        task.cancel()  # ... as the app stops
        with pytest.raises(asyncio.CancelledError):
            await task
