"""Login and activation attempts are throttled per account and per client
address; a burst of parallel attempts cannot slip past the limit."""

from __future__ import annotations

import asyncio

import pytest

from tests.portal.world import PASSWORD, Portal, add_household


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "login_limit_per_account": 3,
        "login_limit_per_address": 5,
        "activation_limit_per_account": 3,
        "activation_limit_per_address": 4,
        "mail_limit_per_email": 2,
        "mail_limit_per_address": 3,
    }


def _login(email: str, password: str) -> dict[str, str]:
    return {"email": email, "password": password}


async def test_login_per_account_even_with_the_right_password(portal: Portal) -> None:
    portal.add_user("victim@example.com")
    for i in range(3):  # from different addresses: the account's own limit
        client = portal.make_client(address=f"198.51.100.{i + 10}")
        r = await client.post("/api/v1/auth/token", json=_login("victim@example.com", "guess"))
        assert r.status_code == 401
    client = portal.make_client(address="198.51.100.99")
    r = await client.post("/api/v1/auth/token", json=_login("victim@example.com", PASSWORD))
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    retry = int(r.headers["retry-after"])
    assert 1 <= retry <= 901
    assert r.json()["retry_after_s"] == retry
    # Once the window has passed, the right password works and clears the count.
    portal.sql("UPDATE throttle_events SET at = at - interval '16 minutes'")
    r = await client.post("/api/v1/auth/token", json=_login("victim@example.com", PASSWORD))
    assert r.status_code == 200


async def test_login_per_address(portal: Portal) -> None:
    for n in range(6):
        portal.add_user(f"user{n}@example.com")
    attacker = portal.make_client(address="203.0.113.66")
    statuses = [
        (
            await attacker.post("/api/v1/auth/token", json=_login(f"user{n}@example.com", "guess"))
        ).status_code
        for n in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    other = portal.make_client(address="203.0.113.67")
    r = await other.post("/api/v1/auth/token", json=_login("user5@example.com", PASSWORD))
    assert r.status_code == 200


async def test_a_success_does_not_count(portal: Portal) -> None:
    portal.add_user("ok@example.com")
    client = portal.make_client(address="203.0.113.70")
    for _ in range(6):
        r = await client.post("/api/v1/auth/token", json=_login("ok@example.com", PASSWORD))
        assert r.status_code == 200


async def test_parallel_guesses_are_counted_together(portal: Portal) -> None:
    portal.add_user("burst@example.com")
    clients = [portal.make_client(address=f"192.0.2.{i}") for i in range(12)]
    responses = await asyncio.gather(
        *(c.post("/api/v1/auth/token", json=_login("burst@example.com", "guess")) for c in clients)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(401) <= 3, statuses
    assert statuses.count(429) >= 9, statuses


async def test_activation_per_login_and_per_address(portal: Portal) -> None:
    home = add_household(portal.url, 3)
    portal.add_user("guesser@example.com")
    portal.add_user("second@example.com")
    guesser = await portal.bearer("guesser@example.com", address="203.0.113.80")
    for tail in ("00001", "00002", "00003"):
        r = await guesser.post(
            "/api/v1/accounts", json={"account_number": home.number, "eic_last5": tail}
        )
        assert r.status_code == 422
    r = await guesser.post(
        "/api/v1/accounts", json={"account_number": home.number, "eic_last5": home.eic[-5:]}
    )
    assert r.status_code == 429  # even the right tail: the login used up its attempts
    # The same address, another login: one more failure fills the address's limit.
    second = await portal.bearer("second@example.com", address="203.0.113.80")
    r = await second.post(
        "/api/v1/accounts", json={"account_number": home.number, "eic_last5": "00004"}
    )
    assert r.status_code == 422
    r = await second.post(
        "/api/v1/accounts", json={"account_number": home.number, "eic_last5": home.eic[-5:]}
    )
    assert r.status_code == 429
    elsewhere = await portal.bearer("second@example.com", address="203.0.113.81")
    r = await elsewhere.post(
        "/api/v1/accounts", json={"account_number": home.number, "eic_last5": home.eic[-5:]}
    )
    assert r.status_code == 201


async def test_mail_sending_is_throttled(portal: Portal) -> None:
    client = portal.make_client(address="203.0.113.90")
    body = {"email": "flood@example.com", "accept_terms": True, "accept_data_processing": True}
    statuses = [
        (await client.post("/api/v1/auth/register", json=body)).status_code for _ in range(3)
    ]
    assert statuses == [202, 202, 429]
    assert len(portal.mail.to("flood@example.com")) == 2
