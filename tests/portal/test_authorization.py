"""Each role against each route; user B never reaches A's account or records.

One world serves the whole matrix (built once per module); the few routes
whose allowed call changes what the others rely on (logout, deletions) get a
world of their own.

Every operation of the app's OpenAPI document must appear in ROUTES (the first
test fails otherwise), so a new route cannot skip this matrix. Allowed callers
send no body (or an empty one) to state-changing routes: they must get past
authorization (any status but 401/403/404) without a server error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

import pytest
from fastapi import FastAPI

from portal_api.devmail import DevMailServer
from tests.portal.conftest import Clients, clean
from tests.portal.world import Portal, World, build_world

Audience = Literal["public", "user", "consumer", "account", "staff", "analyst", "admin"]

ROUTES: dict[tuple[str, str], Audience] = {
    ("GET", "/api/v1/services"): "public",
    ("GET", "/api/v1/news"): "public",
    ("GET", "/api/v1/news/{news_id}"): "public",
    ("POST", "/api/v1/auth/register"): "public",
    ("POST", "/api/v1/auth/confirm"): "public",
    ("POST", "/api/v1/auth/login"): "public",
    ("POST", "/api/v1/auth/token"): "public",
    ("POST", "/api/v1/auth/password-reset"): "public",
    ("POST", "/api/v1/auth/password-reset/confirm"): "public",
    ("POST", "/api/v1/auth/email-change/confirm"): "public",
    ("POST", "/api/v1/auth/logout"): "user",
    ("GET", "/api/v1/me"): "user",
    ("POST", "/api/v1/me/password"): "user",
    ("POST", "/api/v1/me/email"): "user",
    ("GET", "/api/v1/accounts"): "consumer",
    ("POST", "/api/v1/accounts"): "consumer",
    ("GET", "/api/v1/accounts/{account_number}"): "account",
    ("DELETE", "/api/v1/accounts/{account_number}"): "account",
    ("PUT", "/api/v1/accounts/{account_number}/active"): "account",
    ("GET", "/api/v1/accounts/{account_number}/equipment"): "account",
    ("GET", "/api/v1/accounts/{account_number}/readings/form"): "account",
    ("POST", "/api/v1/accounts/{account_number}/readings/preview"): "account",
    ("POST", "/api/v1/accounts/{account_number}/readings"): "account",
    ("GET", "/api/v1/accounts/{account_number}/readings/submissions"): "account",
    (
        "POST",
        "/api/v1/accounts/{account_number}/readings/submissions/{submission_id}/photos",
    ): "account",
    (
        "GET",
        "/api/v1/accounts/{account_number}/readings/submissions/{submission_id}/photos/{photo_id}",
    ): "account",
    ("GET", "/api/v1/accounts/{account_number}/consumption"): "account",
    ("GET", "/api/v1/accounts/{account_number}/consumption/yearly"): "account",
    ("GET", "/api/v1/accounts/{account_number}/consumption/periods"): "account",
    ("GET", "/api/v1/accounts/{account_number}/export"): "account",
    ("GET", "/api/v1/accounts/{account_number}/contracts"): "account",
    ("GET", "/api/v1/accounts/{account_number}/contracts/{contract_id}"): "account",
    (
        "GET",
        "/api/v1/accounts/{account_number}/contracts/{contract_id}/documents/{document_id}",
    ): "account",
    ("GET", "/api/v1/accounts/{account_number}/history/installations"): "account",
    ("GET", "/api/v1/accounts/{account_number}/history/readings"): "account",
    ("GET", "/api/v1/accounts/{account_number}/warnings"): "account",
    ("GET", "/api/v1/accounts/{account_number}/appeals"): "account",
    ("POST", "/api/v1/accounts/{account_number}/appeals"): "account",
    ("GET", "/api/v1/accounts/{account_number}/appeals/{appeal_id}"): "account",
    ("POST", "/api/v1/accounts/{account_number}/appeals/{appeal_id}/messages"): "account",
    (
        "GET",
        "/api/v1/accounts/{account_number}/appeals/{appeal_id}/attachments/{attachment_id}",
    ): "account",
    ("GET", "/api/v1/accounts/{account_number}/contact-changes"): "account",
    ("POST", "/api/v1/accounts/{account_number}/contact-changes"): "account",
    ("GET", "/api/v1/staff/accounts"): "staff",
    ("GET", "/api/v1/staff/accounts/{account_number}"): "staff",
    ("POST", "/api/v1/staff/controller-readings"): "staff",
    ("POST", "/api/v1/staff/controller-readings/import"): "staff",
    ("GET", "/api/v1/staff/submissions/{submission_id}/photos/{photo_id}"): "staff",
    ("GET", "/api/v1/staff/appeals"): "staff",
    ("GET", "/api/v1/staff/appeals/{appeal_id}"): "staff",
    ("POST", "/api/v1/staff/appeals/{appeal_id}/answers"): "staff",
    ("GET", "/api/v1/staff/appeals/{appeal_id}/attachments/{attachment_id}"): "staff",
    ("GET", "/api/v1/staff/warnings"): "staff",
    ("POST", "/api/v1/staff/warnings"): "staff",
    ("PATCH", "/api/v1/staff/warnings/{warning_id}"): "staff",
    ("GET", "/api/v1/staff/contracts"): "staff",
    ("POST", "/api/v1/staff/contracts"): "staff",
    ("GET", "/api/v1/staff/contracts/{contract_id}"): "staff",
    ("PATCH", "/api/v1/staff/contracts/{contract_id}"): "staff",
    ("POST", "/api/v1/staff/contracts/{contract_id}/documents"): "staff",
    ("GET", "/api/v1/staff/contracts/{contract_id}/documents/{document_id}"): "staff",
    ("GET", "/api/v1/staff/news"): "staff",
    ("POST", "/api/v1/staff/news"): "staff",
    ("GET", "/api/v1/staff/news/{news_id}"): "staff",
    ("PUT", "/api/v1/staff/news/{news_id}"): "staff",
    ("DELETE", "/api/v1/staff/news/{news_id}"): "staff",
    ("GET", "/api/v1/staff/services"): "staff",
    ("POST", "/api/v1/staff/services"): "staff",
    ("PUT", "/api/v1/staff/services/{service_id}"): "staff",
    ("DELETE", "/api/v1/staff/services/{service_id}"): "staff",
    ("GET", "/api/v1/staff/contact-changes"): "staff",
    ("POST", "/api/v1/staff/contact-changes/{request_id}/apply"): "staff",
    ("POST", "/api/v1/staff/contact-changes/{request_id}/reject"): "staff",
    ("GET", "/api/v1/staff/review-flags"): "staff",
    ("POST", "/api/v1/staff/review-flags/{flag_id}/resolve"): "staff",
    ("GET", "/api/v1/staff/points/{eic}/periods"): "staff",
    ("POST", "/api/v1/staff/periods/{period}/close"): "staff",
    ("POST", "/api/v1/staff/periods/{period}/corrections"): "staff",
    ("GET", "/api/v1/admin/users"): "admin",
    ("POST", "/api/v1/admin/users"): "admin",
    ("PATCH", "/api/v1/admin/users/{user_id}"): "admin",
    ("GET", "/api/v1/admin/audit"): "admin",
    ("GET", "/api/v1/analyst/points/{eic}/consumption"): "analyst",
    ("GET", "/api/v1/analytics/series"): "analyst",
    ("GET", "/api/v1/analytics/aggregates"): "analyst",
    ("GET", "/api/v1/analytics/completeness"): "analyst",
    ("GET", "/api/v1/analytics/top-consumers"): "analyst",
    ("GET", "/api/v1/analytics/load-profile"): "analyst",
}

ROLES = ("anonymous", "consumer_a", "consumer_b", "operator", "analyst", "admin")
ALLOWED: dict[Audience, set[str]] = {
    "public": set(ROLES),
    "user": {"consumer_a", "consumer_b", "operator", "analyst", "admin"},
    "consumer": {"consumer_a", "consumer_b"},
    "account": {"consumer_a"},  # the path names A's account and A's records
    "staff": {"operator", "admin"},
    "analyst": {"analyst", "admin"},
    "admin": {"admin"},
}
# Routes whose allowed call with an empty body would change state that other
# callers in the same test rely on: they run last, and only for allowed roles.
DESTRUCTIVE = {
    ("POST", "/api/v1/auth/logout"),
    ("DELETE", "/api/v1/accounts/{account_number}"),
    ("DELETE", "/api/v1/staff/news/{news_id}"),
    ("DELETE", "/api/v1/staff/services/{service_id}"),
}


def _path(template: str, world: World, account: str) -> str:
    values = {
        "account_number": account,
        "eic": world.a.eic,
        "user_id": str(world.ids["user_a"]),
        **{f"{k}_id": str(v) for k, v in world.ids.items()},
        "request_id": str(world.ids["contact_change"]),
        "period": "2026-02",
    }
    return template.format(**values)


def test_every_route_is_in_the_matrix(app: FastAPI) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert routes == set(ROUTES), (
        f"missing from ROUTES: {routes - set(ROUTES)}; stale: {set(ROUTES) - routes}"
    )


@pytest.fixture(scope="module")
async def shared_world(
    migrated_url: str, session_app: FastAPI, mail_server: DevMailServer
) -> AsyncIterator[World]:
    clean(migrated_url)
    clients = Clients(session_app)
    portal = Portal(
        make_client=clients.make,
        mail=mail_server,
        url=migrated_url,
        settings=session_app.state.settings,
    )
    yield await build_world(portal)
    await clients.close()


SHARED = [key for key in ROUTES if key not in DESTRUCTIVE]


@pytest.mark.parametrize(("method", "template"), SHARED, ids=[f"{m} {p}" for m, p in SHARED])
async def test_role_matrix(shared_world: World, method: str, template: str) -> None:
    await _check(shared_world, method, template)


@pytest.mark.parametrize(
    ("method", "template"), sorted(DESTRUCTIVE), ids=[f"{m} {p}" for m, p in sorted(DESTRUCTIVE)]
)
async def test_role_matrix_destructive(world: World, method: str, template: str) -> None:
    await _check(world, method, template)


async def _check(world: World, method: str, template: str) -> None:
    audience = ROUTES[(method, template)]
    path = _path(template, world, world.a.number)
    order = sorted(ROLES, key=lambda r: r in ALLOWED[audience])  # denied callers first
    for role in order:
        client = world.clients[role]
        kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        response = await client.request(method, path, **kwargs)
        status = response.status_code
        if role in ALLOWED[audience]:
            assert status not in (401, 403, 404), f"{role}: {status} {response.text}"
            assert status < 500, f"{role}: {status} {response.text}"
        elif role == "anonymous":
            assert status == 401, f"{role}: {status}"
            assert response.headers["content-type"] == "application/problem+json"
        elif audience == "account" and role == "consumer_b":
            assert status == 404, f"B reached A's account: {status} {response.text}"
        else:
            assert status == 403, f"{role}: {status} {response.text}"
        if (method, template) in DESTRUCTIVE and role in ALLOWED[audience]:
            break  # the first allowed call consumed the state; enough


BY_ID = [
    "/api/v1/accounts/{b}/contracts/{contract_id}",
    "/api/v1/accounts/{b}/contracts/{contract_id}/documents/{document_id}",
    "/api/v1/accounts/{b}/appeals/{appeal_id}",
    "/api/v1/accounts/{b}/appeals/{appeal_id}/attachments/{attachment_id}",
    "/api/v1/accounts/{b}/readings/submissions/{submission_id}/photos/{photo_id}",
]


@pytest.mark.parametrize("template", BY_ID)
async def test_b_cannot_reach_a_records_through_b_account(world: World, template: str) -> None:
    """A's record ids under B's own account path: 404, like ids that do not exist."""
    b = world.clients["consumer_b"]
    path = template.format(b=world.b.number, **{f"{k}_id": v for k, v in world.ids.items()})
    response = await b.get(path)
    assert response.status_code == 404, response.text
    own_path = template.format(b=world.a.number, **{f"{k}_id": v for k, v in world.ids.items()})
    assert (await world.clients["consumer_a"].get(own_path)).status_code == 200


async def test_b_cannot_attach_photos_to_a_submission_or_reply_to_a_appeal(world: World) -> None:
    b = world.clients["consumer_b"]
    ids, nb = world.ids, world.b.number
    r = await b.post(
        f"/api/v1/accounts/{nb}/readings/submissions/{ids['submission']}/photos",
        files={"photo": ("m.png", b"\x89PNG\r\n\x1a\n", "image/png")},
    )
    assert r.status_code == 404
    r = await b.post(f"/api/v1/accounts/{nb}/appeals/{ids['appeal']}/messages", json={"text": "x"})
    assert r.status_code == 404


async def test_b_cannot_activate_a_account_without_the_meter(world: World) -> None:
    """Knowing A's number is not enough; and B's list never shows A's account."""
    b = world.clients["consumer_b"]
    r = await b.post(
        "/api/v1/accounts", json={"account_number": world.a.number, "meter_serial": world.b.serial}
    )
    assert r.status_code == 422
    assert r.json()["type"] == "urn:metergate:problem:activation-failed"
    listed = (await b.get("/api/v1/accounts")).json()
    assert [acc["number"] for acc in listed] == [world.b.number]


async def test_not_found_and_not_yours_look_the_same(world: World) -> None:
    b = world.clients["consumer_b"]
    theirs = await b.get(f"/api/v1/accounts/{world.a.number}/consumption")
    missing = await b.get("/api/v1/accounts/99999999/consumption")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"] == missing.json()["detail"]
