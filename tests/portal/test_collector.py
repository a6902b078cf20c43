"""The API process's cyclic collector after start-up: the start-up heap
frozen, the youngest generation collected at 10,000 net allocations."""

from __future__ import annotations

import gc

from portal_api import PortalSettings, create_app
from portal_api.app import YOUNG_COLLECTION_THRESHOLD


async def test_start_up_freezes_the_heap_and_raises_the_young_threshold(
    portal_url: str, portal_settings: PortalSettings
) -> None:
    before = gc.get_threshold()
    gc.unfreeze()  # the session's app froze this process's heap already
    gc.set_threshold(700, *before[1:])
    try:
        app = create_app(database_url=portal_url, settings=portal_settings, pool_max_size=2)
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *before[1:])
    finally:
        gc.set_threshold(*before)
        gc.freeze()
