"""Accounts and sessions: links by e-mail, hashed tokens, CSRF, session ends."""

from __future__ import annotations

import hashlib

import pytest

from tests.portal.world import PASSWORD, Portal, add_household


async def _register(portal: Portal, email: str) -> str:
    client = portal.make_client()
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "accept_terms": True, "accept_data_processing": True},
    )
    assert r.status_code == 202, r.text
    return portal.mail.last_to(email).token()


@pytest.mark.parametrize("consents", [(True, False), (False, True), (None, True)])
async def test_registration_needs_both_consents(
    portal: Portal, consents: tuple[object, object]
) -> None:
    body = {
        "email": "x@example.com",
        "accept_terms": consents[0],
        "accept_data_processing": consents[1],
    }
    r = await portal.make_client().post("/api/v1/auth/register", json=body)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert portal.mail.to("x@example.com") == []


async def test_registering_twice_does_not_tell_who_exists(portal: Portal) -> None:
    """Same answer for a new and a taken address; the owner gets a reset link."""
    portal.add_user("taken@example.com")
    client = portal.make_client()
    body = {"accept_terms": True, "accept_data_processing": True}
    new = await client.post("/api/v1/auth/register", json={"email": "new@example.com", **body})
    taken = await client.post("/api/v1/auth/register", json={"email": "Taken@Example.com", **body})
    assert (new.status_code, new.json()) == (taken.status_code, taken.json())
    assert "reset-password#token=" in portal.mail.last_to("taken@example.com").body


async def test_tokens_and_sessions_are_stored_hashed(portal: Portal) -> None:
    token = await _register(portal, "h@example.com")
    stored = [bytes(r[0]) for r in portal.sql("SELECT token_hash FROM email_tokens")]  # type: ignore[arg-type]
    assert stored == [hashlib.sha256(token.encode()).digest()]
    client = portal.make_client()
    await client.post(
        "/api/v1/auth/confirm",
        json={"token": token, "password": PASSWORD, "password_confirm": PASSWORD},
    )
    r = await client.post(
        "/api/v1/auth/token", json={"email": "h@example.com", "password": PASSWORD}
    )
    raw = r.json()["access_token"]
    hashes = [bytes(row[0]) for row in portal.sql("SELECT token_hash FROM sessions")]  # type: ignore[arg-type]
    assert hashes == [hashlib.sha256(raw.encode()).digest()]
    password_hash = str(portal.sql("SELECT password_hash FROM users")[0][0])
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash


async def test_confirmation_link_expires_and_differs_from_reset(portal: Portal) -> None:
    token = await _register(portal, "e@example.com")
    client = portal.make_client()
    body = {"token": token, "password": PASSWORD, "password_confirm": PASSWORD}
    r = await client.post("/api/v1/auth/password-reset/confirm", json=body)
    assert r.status_code == 404  # a confirmation token is not a reset token
    portal.sql("UPDATE email_tokens SET expires_at = now() - interval '1 second'")
    r = await client.post("/api/v1/auth/confirm", json=body)
    assert r.status_code == 404
    assert r.json()["type"] == "urn:metergate:problem:invalid-token"


async def test_passwords_must_match_and_be_long_enough(portal: Portal) -> None:
    token = await _register(portal, "p@example.com")
    client = portal.make_client()
    for password, confirm in ((PASSWORD, PASSWORD + "x"), ("short", "short")):
        r = await client.post(
            "/api/v1/auth/confirm",
            json={"token": token, "password": password, "password_confirm": confirm},
        )
        assert r.status_code == 422
        assert "input" not in str(r.json()["errors"])  # passwords are never echoed
    r = await client.post(
        "/api/v1/auth/confirm",
        json={"token": token, "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert r.status_code == 200


async def test_unconfirmed_and_disabled_logins_fail(portal: Portal) -> None:
    await _register(portal, "u@example.com")
    client = portal.make_client()
    r = await client.post(
        "/api/v1/auth/token", json={"email": "u@example.com", "password": PASSWORD}
    )
    assert r.status_code == 401
    portal.add_user("d@example.com")
    portal.sql("UPDATE users SET disabled_at = now() WHERE email = 'd@example.com'")
    r = await client.post(
        "/api/v1/auth/token", json={"email": "d@example.com", "password": PASSWORD}
    )
    assert r.status_code == 401


async def test_csrf_is_required_for_cookie_writes_only(portal: Portal) -> None:
    portal.add_user("c@example.com")
    browser = await portal.browser("c@example.com")
    token = browser.headers.pop("X-CSRF-Token")
    assert (await browser.get("/api/v1/me")).status_code == 200  # reads need no token
    r = await browser.post("/api/v1/accounts", json={"account_number": "1", "meter_serial": "x"})
    assert r.status_code == 403
    assert r.json()["type"] == "urn:metergate:problem:csrf"
    browser.headers["X-CSRF-Token"] = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert (await browser.post("/api/v1/auth/logout")).status_code == 403
    browser.headers["X-CSRF-Token"] = token
    assert (await browser.post("/api/v1/auth/logout")).status_code == 204
    api = await portal.bearer("c@example.com")  # a bearer client sends no CSRF token
    r = await api.post("/api/v1/accounts", json={"account_number": "1", "meter_serial": "x"})
    assert r.status_code == 422


async def test_point_routes_check_the_session_before_the_path(portal: Portal) -> None:
    """The point-scoped routes look the session and the points up together
    (``deps.AccountCaller``), still in ``ConsumerUser``'s order: no session is
    401 whatever the path, a staff session 403, then a malformed account
    number 422 and someone else's 404; a cookie write needs the CSRF token."""
    home = add_household(portal.url, 32)
    other = add_household(portal.url, 33)
    portal.add_user("c@example.com", accounts=[home.account_id])
    portal.add_user("o@example.com", role="operator")
    anonymous = portal.make_client()
    for number in (home.number, "not a number!"):
        r = await anonymous.get(f"/api/v1/accounts/{number}/consumption")
        assert r.status_code == 401
    staff = await portal.bearer("o@example.com")
    assert (await staff.get(f"/api/v1/accounts/{home.number}/consumption")).status_code == 403
    api = await portal.bearer("c@example.com")
    assert (await api.get("/api/v1/accounts/not a number!/consumption")).status_code == 422
    assert (await api.get(f"/api/v1/accounts/{other.number}/consumption")).status_code == 404
    assert (await api.get(f"/api/v1/accounts/{home.number}/consumption")).status_code == 200

    browser = await portal.browser("c@example.com")
    token = browser.headers.pop("X-CSRF-Token")
    preview = f"/api/v1/accounts/{home.number}/readings/preview"
    assert (await browser.get(f"/api/v1/accounts/{home.number}/readings/form")).status_code == 200
    r = await browser.post(preview, json={})
    assert r.status_code == 403
    assert r.json()["type"] == "urn:metergate:problem:csrf"
    browser.headers["X-CSRF-Token"] = token
    assert (await browser.post(preview, json={})).status_code == 422


async def test_a_bearer_token_is_not_a_cookie_and_back(portal: Portal) -> None:
    portal.add_user("k@example.com")
    api = await portal.bearer("k@example.com")
    raw = api.headers["Authorization"].removeprefix("Bearer ")
    cookie_client = portal.make_client()
    cookie_client.cookies.set("mg_session", raw, domain="testserver", path="/api")
    assert (await cookie_client.get("/api/v1/me")).status_code == 401
    browser = await portal.browser("k@example.com")
    session = browser.cookies.get("mg_session", path="/api")
    assert session is not None
    bearer = portal.make_client(token=session)
    assert (await bearer.get("/api/v1/me")).status_code == 401


async def test_expired_sessions_are_refused(portal: Portal) -> None:
    portal.add_user("s@example.com")
    api = await portal.bearer("s@example.com")
    assert (await api.get("/api/v1/me")).json()["session"] == "bearer"
    portal.sql("UPDATE sessions SET expires_at = now() - interval '1 second'")
    r = await api.get("/api/v1/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


async def test_password_change_ends_other_sessions(portal: Portal) -> None:
    portal.add_user("m@example.com")
    one, two = await portal.bearer("m@example.com"), await portal.bearer("m@example.com")
    r = await one.post(
        "/api/v1/me/password",
        json={
            "current_password": "wrong-password",
            "password": "brand-new-pass",
            "password_confirm": "brand-new-pass",
        },
    )
    assert r.status_code == 422
    assert r.json()["type"].endswith("wrong-password")
    r = await one.post(
        "/api/v1/me/password",
        json={
            "current_password": PASSWORD,
            "password": "brand-new-pass",
            "password_confirm": "brand-new-pass",
        },
    )
    assert r.status_code == 204
    assert (await one.get("/api/v1/me")).status_code == 200
    assert (await two.get("/api/v1/me")).status_code == 401
    anon = portal.make_client()
    r = await anon.post("/api/v1/auth/token", json={"email": "m@example.com", "password": PASSWORD})
    assert r.status_code == 401


async def test_password_reset_by_mail_ends_every_session(portal: Portal) -> None:
    portal.add_user("r@example.com")
    api = await portal.bearer("r@example.com")
    anon = portal.make_client()
    assert (
        await anon.post("/api/v1/auth/password-reset", json={"email": "nobody@example.com"})
    ).status_code == 202
    assert portal.mail.to("nobody@example.com") == []
    r = await anon.post("/api/v1/auth/password-reset", json={"email": "r@example.com"})
    assert r.status_code == 202
    token = portal.mail.last_to("r@example.com").token()
    body = {"token": token, "password": "after-reset-1", "password_confirm": "after-reset-1"}
    assert (await anon.post("/api/v1/auth/password-reset/confirm", json=body)).status_code == 204
    assert (await anon.post("/api/v1/auth/password-reset/confirm", json=body)).status_code == 404
    assert (await api.get("/api/v1/me")).status_code == 401
    r = await anon.post(
        "/api/v1/auth/token", json={"email": "r@example.com", "password": "after-reset-1"}
    )
    assert r.status_code == 200


async def test_email_change_waits_for_the_new_address(portal: Portal) -> None:
    portal.add_user("old@example.com")
    portal.add_user("other@example.com")
    api = await portal.bearer("old@example.com")
    r = await api.post(
        "/api/v1/me/email", json={"new_email": "other@example.com", "current_password": PASSWORD}
    )
    assert r.status_code == 202
    assert (await api.get("/api/v1/me")).json()["user"]["email"] == "old@example.com"
    token = portal.mail.last_to("other@example.com").token()
    r = await portal.make_client().post("/api/v1/auth/email-change/confirm", json={"token": token})
    assert r.status_code == 409  # the address belongs to someone else


async def test_admin_creates_staff_who_set_their_password_by_mail(portal: Portal) -> None:
    portal.add_user("admin@utility.example", role="admin")
    admin = await portal.bearer("admin@utility.example")
    r = await admin.post(
        "/api/v1/admin/users", json={"email": "op2@utility.example", "role": "operator"}
    )
    assert r.status_code == 201, r.text
    token = portal.mail.last_to("op2@utility.example").token()
    anon = portal.make_client()
    body = {"token": token, "password": "operator-pass", "password_confirm": "operator-pass"}
    assert (await anon.post("/api/v1/auth/password-reset/confirm", json=body)).status_code == 204
    op = await portal.bearer("op2@utility.example", "operator-pass")
    assert (await op.get("/api/v1/staff/appeals")).status_code == 200
    r = await admin.patch(f"/api/v1/admin/users/{r.json()['id']}", json={"disabled": True})
    assert r.status_code == 200
    assert r.json()["disabled"] is True
    assert (await op.get("/api/v1/staff/appeals")).status_code == 401
    audit = (await admin.get("/api/v1/admin/audit", params={"entity": "user"})).json()
    assert [a["action"] for a in audit] == ["user.update", "user.create"]
