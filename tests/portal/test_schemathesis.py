"""Property-based requests from the OpenAPI document (schemathesis) against a
real ``metergate api``: no server errors, and every answer matches the document.

Requests carry a session of the role each path is for (consumer A, operator,
analyst, admin), so the generated data gets past authorization. The number of
examples per operation is bounded (METERGATE_SCHEMATHESIS_EXAMPLES, default 6).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from portal_api import PortalSettings, create_app
from tests.portal.live_api import live_api, settings_env
from tests.portal.world import World

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("METERGATE_SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def live(world_for_schemathesis: tuple[World, PortalSettings]) -> Iterator[tuple[str, World]]:
    """``metergate api`` in its own process, on the world's store and settings.

    Not a thread in this process: hypothesis checks that drawing an example
    leaves the global ``random`` state alone, and a server beside it (retry
    jitter, the connection pool's expiry jitter) could move that state in
    the middle of a draw, failing an example that has nothing wrong with it.
    """
    world, portal_settings = world_for_schemathesis
    env = {"METERGATE_DATABASE_URL": world.portal.url, **settings_env(portal_settings)}
    with live_api(env) as server:
        yield server.base_url, world
    assert server.process.returncode == 0, server.output


# The document comes from the app itself (no database needed to build it); the
# requests go to the live server. (schemathesis' lazy ``from_fixture`` loader
# does not work with pytest 9.2, which renamed ``Node._nodeid``.)
_DOCUMENT = create_app(database_url="postgresql:///unused", settings=PortalSettings()).openapi()
# Logging out would end the session the other requests use.
schema = schemathesis.openapi.from_dict(_DOCUMENT).exclude(path="/api/v1/auth/logout")


def _token(world: World, path: str) -> str:
    role = (
        "operator"
        if path.startswith("/api/v1/staff/")
        else "admin"
        if path.startswith("/api/v1/admin/")
        else "analyst"
        if path.startswith(("/api/v1/analyst/", "/api/v1/analytics/"))
        else "consumer_a"
    )
    return world.clients[role].headers["Authorization"]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case, live: tuple[str, World]) -> None:  # type: ignore[no-untyped-def]
    base_url, world = live
    if (
        "account_number" in (case.path_parameters or {})
        and case.path_parameters["account_number"] == "0"
    ):
        case.path_parameters["account_number"] = world.a.number
    case.call_and_validate(
        base_url=base_url,
        headers={"Authorization": _token(world, case.path)},
        checks=CHECKS,
    )
