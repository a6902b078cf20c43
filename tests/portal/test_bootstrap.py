"""METERGATE_BOOTSTRAP_ADMIN_EMAIL: the first admin is created at start, once,
and sets a password through the mailed link."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest
from fastapi import FastAPI

from portal_api import PortalSettings, create_app
from portal_api.devmail import DevMailServer
from tests.portal.world import PASSWORD, Portal

ADMIN = "root@utility.example"
ADMIN_PASSWORD = "first-admin-pass"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """The ``app`` (and so ``portal``) fixture starts with the bootstrap admin set."""
    return {"bootstrap_admin_email": ADMIN}


async def _start(settings: PortalSettings, url: str) -> None:
    """Start the app (its lifespan) and stop it again."""
    app = create_app(database_url=url, settings=settings, pool_max_size=2)
    async with app.router.lifespan_context(app):
        pass


def _admins(portal: Portal) -> list[tuple[object, ...]]:
    return portal.sql(
        "SELECT email, role, password_hash, confirmed_at IS NOT NULL FROM users"
        " WHERE lower(email) = lower(%s)",
        (ADMIN,),
    )


async def test_the_first_start_creates_the_admin_and_mails_a_link(
    app: FastAPI, portal: Portal
) -> None:
    assert _admins(portal) == [(ADMIN, "admin", None, True)]
    [message] = portal.mail.to(ADMIN)
    assert message.subject == "Доступ до Metergate"
    assert "https://cabinet.example.test/reset-password#token=" in message.body
    audit = portal.sql("SELECT actor, action, entity, details->>'role' FROM audit_log")
    assert audit == [("bootstrap", "user.create", "user", "admin")]


async def test_the_link_sets_the_password_and_the_admin_gets_in(portal: Portal) -> None:
    anon = portal.make_client()
    r = await anon.post("/api/v1/auth/token", json={"email": ADMIN, "password": ADMIN_PASSWORD})
    assert r.status_code == 401  # no password yet
    token = portal.mail.last_to(ADMIN).token()
    body = {"token": token, "password": ADMIN_PASSWORD, "password_confirm": ADMIN_PASSWORD}
    assert (await anon.post("/api/v1/auth/password-reset/confirm", json=body)).status_code == 204
    assert (await anon.post("/api/v1/auth/password-reset/confirm", json=body)).status_code == 404

    admin = await portal.bearer(ADMIN, ADMIN_PASSWORD)
    r = await admin.get("/api/v1/admin/users", params={"role": "admin"})
    assert r.status_code == 200, r.text
    assert [u["email"] for u in r.json()] == [ADMIN]
    r = await admin.post(
        "/api/v1/admin/users", json={"email": "op@utility.example", "role": "operator"}
    )
    assert r.status_code == 201, r.text
    # an admin-only route is closed to everyone else
    portal.add_user("consumer@example.com")
    consumer = await portal.bearer("consumer@example.com", PASSWORD)
    assert (await consumer.get("/api/v1/admin/users")).status_code == 403


async def test_a_second_start_neither_duplicates_nor_resets_the_admin(
    portal: Portal, portal_settings: PortalSettings
) -> None:
    token = portal.mail.last_to(ADMIN).token()
    body = {"token": token, "password": ADMIN_PASSWORD, "password_confirm": ADMIN_PASSWORD}
    anon = portal.make_client()
    assert (await anon.post("/api/v1/auth/password-reset/confirm", json=body)).status_code == 204
    [(_, _, password_hash, _)] = _admins(portal)
    assert password_hash is not None

    await _start(portal_settings, portal.url)
    other_case = portal_settings.model_copy(update={"bootstrap_admin_email": ADMIN.upper()})
    await _start(other_case, portal.url)

    assert _admins(portal) == [(ADMIN, "admin", password_hash, True)]
    assert len(portal.mail.to(ADMIN)) == 1  # no second link
    assert portal.sql("SELECT count(*) FROM email_tokens WHERE used_at IS NULL") == [(0,)]
    await portal.bearer(ADMIN, ADMIN_PASSWORD)  # the password still works


@pytest.fixture
def store(portal_url: str, mail: DevMailServer, portal_settings: PortalSettings) -> Portal:
    """The emptied store, before any app starts on it (no HTTP clients)."""

    def no_clients(**_: object) -> httpx.AsyncClient:
        raise AssertionError("no app runs here")

    return Portal(make_client=no_clients, mail=mail, url=portal_url, settings=portal_settings)


async def test_an_existing_login_is_not_made_an_admin(
    store: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    """The address belongs to a consumer: the start says so and changes nothing."""
    store.add_user(ADMIN.upper())
    with caplog.at_level(logging.WARNING, logger="portal_api.app"):
        await _start(store.settings, store.url)
    assert store.sql("SELECT role, password_hash IS NOT NULL FROM users") == [("consumer", True)]
    assert store.mail.to(ADMIN) == store.mail.to(ADMIN.upper()) == []
    assert "not an admin (consumer)" in caplog.text


async def test_without_mail_nothing_is_created_and_the_next_start_tries_again(
    store: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    """No admin without a link (it could never log in); the portal starts anyway."""
    with socket.socket() as closed:  # a port where nothing listens
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    no_smtp = store.settings.model_copy(update={"smtp_port": port})
    with caplog.at_level(logging.ERROR, logger="portal_api.app"):
        await _start(no_smtp, store.url)
    assert "the bootstrap admin was not created" in caplog.text
    assert _admins(store) == []
    assert store.sql("SELECT count(*) FROM email_tokens") == [(0,)]
    assert store.sql("SELECT count(*) FROM audit_log") == [(0,)]

    await _start(store.settings, store.url)
    assert [row[:2] for row in _admins(store)] == [(ADMIN, "admin")]
    assert len(store.mail.to(ADMIN)) == 1
