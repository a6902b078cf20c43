"""The incremental reconciler as an APScheduler job in the gateway process.

``reconcile`` is synchronous: on an ``AsyncIOScheduler`` the job runs in the
scheduler's thread pool (``schedule_reconcile``) or in a thread of its own
(``reconcile_job``), so a long run never blocks the event loop that moves
readings. One instance at a time; missed runs coalesce into one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ingest.reconcile.runner import ReconcileSummary, reconcile
from ingest.store import Store

log = logging.getLogger(__name__)

JOB_ID = "metergate.reconcile"


def incremental_job(conninfo: str) -> ReconcileSummary:
    """One incremental run (what the scheduler calls)."""
    return reconcile(conninfo, incremental=True)


async def reconcile_job(store: Store) -> None:
    """The same run for a gateway that schedules coroutines taking its ``Store``
    (``gateway.runner``'s ``extra_jobs``): off the event loop, in a thread."""
    summary = await asyncio.to_thread(reconcile, store.conninfo, incremental=True)
    log.info("incremental reconcile: %d points, %d new versions, %d flags",
             summary.points, summary.versions, summary.flags)  # fmt: skip


def schedule_reconcile(
    scheduler: BaseScheduler, conninfo: str, *, every: timedelta = timedelta(minutes=15)
) -> Job:
    """Add (or replace) the incremental reconcile job on ``scheduler``."""
    return scheduler.add_job(
        incremental_job,
        IntervalTrigger(seconds=int(every.total_seconds())),
        args=(conninfo,),
        id=JOB_ID,
        name="incremental reconcile",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
