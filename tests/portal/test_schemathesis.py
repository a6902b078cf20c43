"""Property-based requests from the OpenAPI document (schemathesis) against a
real uvicorn: no server errors, and every answer matches the document.

Requests carry a session of the role each path is for (consumer A, operator,
analyst, admin), so the generated data gets past authorization. The number of
examples per operation is bounded (METERGATE_SCHEMATHESIS_EXAMPLES, default 6).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from portal_api import PortalSettings, create_app
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


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # a thread cannot own signals
        pass


@pytest.fixture(scope="module")
def live(world_for_schemathesis: tuple[World, PortalSettings]) -> Iterator[tuple[str, World]]:
    """A real uvicorn in a thread, with its own app and event loop."""
    world, portal_settings = world_for_schemathesis
    app: FastAPI = create_app(database_url=world.portal.url, settings=portal_settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", world
    server.should_exit = True
    thread.join(timeout=10)


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
