"""The incremental reconciler as an APScheduler job, as the gateway runs it."""

import asyncio
from datetime import UTC, date, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from drivers.domain import KYIV, Source
from ingest.reconcile import ReconcileSummary, bounds, reconcile_job, schedule_reconcile
from ingest.reconcile.periods import add_months, month_of
from ingest.reconcile.policy import Policy
from ingest.store import Store
from tests.ingest.reconcile.conftest import Site


def _due_point(site: Site, n: int) -> tuple[date, str]:
    """A point with readings around the last period due by the real clock (the
    scheduled job judges at the real "now")."""
    period = add_months(month_of(datetime.now(KYIV).date()), -1)
    b = bounds(period, Policy())
    p = site.point(n)
    site.reads(p.meter_id, 0, [(b.start - timedelta(days=1), 10_000_000),
                               (b.end - timedelta(days=1), 10_200_000)],
               source=Source.CONSUMER)  # fmt: skip
    return period, p.eic


async def test_the_scheduled_job_reconciles_the_points_that_received_data(site: Site) -> None:
    period, eic = _due_point(site, 70)
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[JobExecutionEvent] = loop.create_future()

    def listener(event: JobExecutionEvent) -> None:
        loop.call_soon_threadsafe(lambda: finished.done() or finished.set_result(event))

    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    try:
        job = schedule_reconcile(scheduler, site.url, every=timedelta(hours=1))
        job.modify(next_run_time=datetime.now(UTC))
        event = await asyncio.wait_for(finished, timeout=60)
    finally:
        scheduler.shutdown(wait=False)
    assert event.exception is None, event.traceback
    summary: ReconcileSummary = event.retval
    assert (summary.mode, summary.points, summary.versions) == ("incremental", 1, 1)
    assert site.results(period)[(eic, 0)]["consumption_wh"] == 200_000


async def test_the_gateway_coroutine_job_runs_the_same(site: Site, store: Store) -> None:
    period, eic = _due_point(site, 71)
    await reconcile_job(store)
    assert site.results(period)[(eic, 0)]["consumption_wh"] == 200_000
