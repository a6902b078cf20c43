"""The request's connection (``deps.Conn``): a read runs in autocommit; a
state-changing request runs in one transaction, committed when the route
returns and rolled back when it raises; either way the connection goes back
to the pool idle and in autocommit. The app here has a pool of one
connection, so every request gets the same one."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from psycopg.pq import TransactionStatus

from portal_api import PortalSettings, create_app
from portal_api.devmail import DevMailServer
from tests.portal.world import PASSWORD, Portal

NEW = "new@example.com"


@pytest.fixture
async def one_connection(
    portal_url: str, portal_settings: PortalSettings
) -> AsyncIterator[FastAPI]:
    """The portal with one pooled connection and no mail server (sending fails)."""
    with socket.socket() as closed:  # a port where nothing listens
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings = portal_settings.model_copy(update={"smtp_port": port})
    app = create_app(database_url=portal_url, settings=settings, pool_max_size=1)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(one_connection: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=one_connection, client=("198.51.100.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        yield c


@pytest.fixture
def store(mail: DevMailServer, portal_url: str, portal_settings: PortalSettings) -> Portal:
    def no_clients(**_: object) -> httpx.AsyncClient:
        raise AssertionError("this test makes its own client")

    return Portal(make_client=no_clients, mail=mail, url=portal_url, settings=portal_settings)


async def _pooled(app: FastAPI) -> tuple[bool, TransactionStatus]:
    """The pooled connection's mode and transaction status."""
    pool = app.state.store.pool
    conn = await pool.getconn()
    try:
        return conn.autocommit, conn.info.transaction_status
    finally:
        await pool.putconn(conn)


async def test_a_write_that_fails_leaves_nothing(
    one_connection: FastAPI, client: httpx.AsyncClient, store: Portal
) -> None:
    """Registration writes the login and its link, then the mail fails: 503,
    and neither row is kept."""
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": NEW, "accept_terms": True, "accept_data_processing": True},
    )
    assert r.status_code == 503, r.text
    assert store.sql("SELECT count(*) FROM users WHERE email = %s", (NEW,)) == [(0,)]
    assert store.sql("SELECT count(*) FROM email_tokens") == [(0,)]
    assert await _pooled(one_connection) == (True, TransactionStatus.IDLE)


async def test_reads_and_writes_share_the_connection_cleanly(
    one_connection: FastAPI, client: httpx.AsyncClient, store: Portal
) -> None:
    """A read, a write that fails, a write that succeeds, a read: on one
    connection, each as if it had a connection of its own."""
    user_id = store.add_user("olena@example.com")
    assert (await client.get("/api/v1/services")).status_code == 200
    assert await _pooled(one_connection) == (True, TransactionStatus.IDLE)

    failed = await client.post(
        "/api/v1/auth/register",
        json={"email": NEW, "accept_terms": True, "accept_data_processing": True},
    )
    assert failed.status_code == 503

    login = await client.post(
        "/api/v1/auth/token", json={"email": "olena@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    assert store.sql("SELECT count(*) FROM sessions WHERE user_id = %s", (user_id,)) == [(1,)]
    assert await _pooled(one_connection) == (True, TransactionStatus.IDLE)

    token = login.json()["access_token"]
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert store.sql("SELECT count(*) FROM users WHERE email = %s", (NEW,)) == [(0,)]
