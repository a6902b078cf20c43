"""One seeded store per backend for every analytics test (read-only, so shared):
its own database, so other tests emptying theirs never touch it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingest import rollups
from ingest.migrate import Backend, migrate
from tests.analytics import brute
from tests.analytics.world import World, build
from tests.fixtures.db import BACKENDS, SERVER_URL, TIMESCALE_URL, create_database, drop_database


@pytest.fixture(scope="session", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Iterator[World]:
    backend: Backend = request.param
    server = TIMESCALE_URL if backend == "timescaledb" else SERVER_URL
    assert server is not None
    url = create_database(server, prefix="mg_analytics")
    try:
        migrate(url, backend=backend)
        world = build(url, backend)
        rollups.refresh(url, backend)
        yield world
    finally:
        drop_database(server, url)


@pytest.fixture(scope="session")
def raw(seeded: World) -> brute.Store:
    """The world's raw rows, loaded once, for the brute-force computations."""
    return brute.load(seeded.url)
