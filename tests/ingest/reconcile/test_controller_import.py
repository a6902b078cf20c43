"""Controller readings from CSV: good rows stored, bad rows reported by line."""

from pathlib import Path

import psycopg

from drivers.domain import Source
from ingest.reconcile import import_controller_csv
from tests.ingest.reconcile.conftest import Site, kyiv


def _csv(site: Site) -> tuple[str, str, str]:
    one = site.point(50, plan="two_zone")
    two = site.point(51)
    site.reads(one.meter_id, 1, [(kyiv(2026, 5, 1), 10_000_000)])
    site.reads(one.meter_id, 2, [(kyiv(2026, 5, 1), 5_000_000)])
    site.reads(two.meter_id, 0, [(kyiv(2026, 5, 1), 20_000_000)])
    text = "\n".join([
        "eic,meter,read_at,register,value_kwh,controller",
        f"{one.eic},{one.serial},2026-05-20T11:00:00+03:00,1,10200,Petrenko",  # 2
        f"{one.eic},{one.serial},2026-05-20T11:00:00+03:00,1.8.2,5080.5,Petrenko",  # 3
        f"{two.eic},{two.serial},2026-05-20 12:00,0,19000,Petrenko",  # 4: below 20000
        f"{two.eic},{two.serial},2026-05-21 12:00,0,20100,Petrenko",  # 5
        f"{two.eic},{two.serial},2026-05-21 12:00,0,20100,Petrenko",  # 6: repeats line 5
        f"62Z000000000999X,{two.serial},2026-05-21 12:00,0,1,Petrenko",  # 7: bad EIC
        f"{two.eic},NOPE,2026-05-21 12:00,0,1,Petrenko",  # 8: unknown meter
        f"{one.eic},{one.serial},2026-05-22 12:00,1,10300,Petrenko",  # 9: night zone missing
        f"{two.eic},{two.serial},2099-01-01 12:00,0,20500,Petrenko",  # 10: future
        f"{two.eic},{two.serial},2026-05-23 12:00,0,abc,Petrenko",  # 11: not a number
    ])  # fmt: skip
    return text, one.serial, two.serial


async def test_good_rows_are_stored_and_bad_rows_reported_by_line(site: Site) -> None:
    text, one, two = _csv(site)
    report = await import_controller_csv(site.url, text)
    assert (report.rows, report.stored, report.duplicates) == (10, 3, 0)
    lines = {e.line: e.message for e in report.errors}
    assert sorted(lines) == [4, 6, 7, 8, 9, 10, 11]
    assert "below the reading" in lines[4]
    assert lines[6] == "repeats line 5"
    assert "invalid EIC" in lines[7]
    assert lines[8] == "no meter NOPE"
    assert "one row per zone" in lines[9]
    assert "in the future" in lines[10]
    assert "not a number" in lines[11]
    stored = site.execute(
        "SELECT m.serial, r.register, r.read_at, r.value_wh, r.origin FROM readings r"
        " JOIN meters m ON m.id = r.meter_id WHERE r.source = %s ORDER BY 1, 2",
        [Source.CONTROLLER.db_code],
    )
    assert stored == [
        (one, 1, kyiv(2026, 5, 20, 11), 10_200_000, "controller:Petrenko"),
        (one, 2, kyiv(2026, 5, 20, 11), 5_080_500, "controller:Petrenko"),
        (two, 0, kyiv(2026, 5, 21, 12), 20_100_000, "controller:Petrenko"),
    ]


async def test_reimporting_a_file_counts_duplicates_and_stores_nothing(
    site: Site, tmp_path: Path
) -> None:
    text, _, _ = _csv(site)
    path = tmp_path / "round.csv"
    path.write_text(text.replace(",", ";").replace("5080.5", "5080,5"), encoding="utf-8")
    async with await psycopg.AsyncConnection.connect(site.url) as conn:
        first = await import_controller_csv(conn, path)
        again = await import_controller_csv(conn, path)
        await conn.commit()
    # Lines 2, 3 and 5 are stored already; line 6 repeats line 5.
    assert (first.stored, again.stored, again.duplicates) == (3, 0, 4)
