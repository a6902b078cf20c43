"""What the portal and the staff read: period results with versions, review flags;
and a large scope computed by worker processes gives the same results."""

from datetime import date

import psycopg
import pytest

from drivers.domain import Source
from ingest.reconcile import list_flags, period_reads, reconcile, request_reconcile
from ingest.reconcile import work as work_module
from tests.ingest.reconcile.conftest import Site, kyiv

MAY = date(2026, 5, 1)


async def test_period_reads_and_flags_for_the_portal(site: Site) -> None:
    p = site.point(100, plan="two_zone")
    for register, values in {1: (10_000_000, 10_300_000), 2: (5_000_000, 5_100_000)}.items():
        site.reads(p.meter_id, register, [(kyiv(2026, 5, 1), values[0]),
                                          (kyiv(2026, 6, 1), values[1])])  # fmt: skip
    site.reads(p.meter_id, 1, [(kyiv(2026, 6, 2, 9), 10_500_000)], source=Source.CONSUMER)
    site.reads(p.meter_id, 2, [(kyiv(2026, 6, 2, 9), 5_100_000)], source=Source.CONSUMER)
    reconcile(site.url, period=MAY, now=kyiv(2026, 6, 10))
    async with await psycopg.AsyncConnection.connect(site.url) as conn:
        reads = await period_reads(conn, point_id=p.id)
        flags = await list_flags(conn, point_id=p.id)
        await request_reconcile(conn, p.id)
        await conn.commit()
    assert [(r.zone, r.consumption_wh, r.status, r.period_status) for r in reads] == [
        ("day", 300_000, "disputed", "open"),
        ("night", 100_000, "actual", "open"),
    ]
    assert [(f.eic, f.register, f.kind) for f in flags] == [(p.eic, 1, "divergence")]
    assert "consumer 10500000 Wh" in flags[0].reason
    assert site.execute("SELECT point_id FROM reconcile_queue") == [(p.id,)]


@pytest.mark.parametrize("migrated_url", ["postgresql"], indirect=True)
def test_worker_processes_give_the_same_results(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    points = [site.point(110 + i) for i in range(6)]
    for i, p in enumerate(points):
        opening = 1_000_000 * i
        site.reads(p.meter_id, 0, [(kyiv(2026, 5, 1), opening),
                                   (kyiv(2026, 6, 1), opening + 1_000 * (i + 1))])  # fmt: skip
    monkeypatch.setattr(work_module, "PARALLEL_MIN_POINTS", 1)
    monkeypatch.setattr(work_module, "workers", lambda: 2)
    summary = reconcile(site.url, period=MAY, now=kyiv(2026, 6, 10))
    assert (summary.points, summary.versions) == (6, 6)
    rows = site.results(MAY)
    assert [rows[(p.eic, 0)]["consumption_wh"] for p in points] == [
        1_000 * (i + 1) for i in range(6)
    ]
