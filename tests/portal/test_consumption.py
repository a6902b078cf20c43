"""Consumption per bucket and zone (P8, P9, P12): exact sums in Kyiv local
buckets, Octopus Energy's shape, meter replacement, rollover, DST; the billed
periods from the reconciler; the analyst's series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product
from typing import Any

import httpx
import psycopg
import pytest

from drivers.domain import KYIV
from ingest import queries, rollups
from ingest.migrate import Backend
from ingest.portal.consumption import NOTHING_MATERIALIZED, Watermarks, span_consumption
from ingest.portal.history import MeterSpan
from ingest.reconcile import reconcile
from tests.portal.world import Household, Portal, add_household, add_reads

START = datetime(2026, 1, 1, tzinfo=KYIV)
END = datetime(2026, 3, 10, tzinfo=KYIV)


def _slots(register: int, at: datetime) -> int:
    return 100 * register  # day (T1) 100 Wh, night (T2) 200 Wh per 15 minutes


@pytest.fixture
async def a(portal: Portal) -> tuple[httpx.AsyncClient, Household]:
    home = add_household(portal.url, 11, plan="two_zone", registers=(1, 2))
    add_reads(portal.url, home.meter_id, registers=(1, 2), start=START, end=END, per_slot_wh=_slots)
    portal.add_user("c@example.com", accounts=[home.account_id])
    return await portal.bearer("c@example.com"), home


async def _get(client: httpx.AsyncClient, home: Household, **params: Any) -> dict[str, Any]:
    r = await client.get(f"/api/v1/accounts/{home.number}/consumption", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _zones(row: dict[str, Any]) -> dict[str, int]:
    return {z["zone"]: z["consumption_wh"] for z in row["zones"]}


@pytest.mark.parametrize(
    ("group_by", "period_from", "period_to", "expected_days"),
    [
        ("day", "2026-01-10", "2026-01-13", [1, 1, 1]),
        ("week", "2026-01-01", "2026-01-19", [4, 7, 7]),  # Thu 1st: a partial first week
        ("month", "2026-01-01", "2026-03-01", [31, 28]),
        ("quarter", "2026-01-01", "2026-04-01", [68]),  # reads end on 10 March
        ("year", "2026-01-01", "2027-01-01", [68]),
    ],
)
async def test_buckets_sum_exactly(
    a: tuple[httpx.AsyncClient, Household],
    group_by: str,
    period_from: str,
    period_to: str,
    expected_days: list[int],
) -> None:
    client, home = a
    page = await _get(
        client,
        home,
        group_by=group_by,
        period_from=period_from,
        period_to=period_to,
        order_by="period",
    )
    assert [_zones(r) for r in page["results"]] == [
        {"day": 9600 * d, "night": 19200 * d} for d in expected_days
    ]
    assert [r["consumption"] for r in page["results"]] == [f"{28.8 * d:.3f}" for d in expected_days]
    for row in page["results"]:
        start = datetime.fromisoformat(row["interval_start"])
        assert start.utcoffset() == timedelta(hours=2)  # Kyiv local time, winter
        assert (start.hour, start.minute) == (0, 0)


async def test_hours_and_the_octopus_page(a: tuple[httpx.AsyncClient, Household]) -> None:
    client, home = a
    page = await _get(
        client,
        home,
        group_by="hour",
        period_from="2026-01-05T10:00:00+02:00",
        period_to="2026-01-05T16:00:00+02:00",
        page_size=4,
    )
    assert page["count"] == 6
    assert len(page["results"]) == 4
    assert page["results"][0]["interval_start"] == "2026-01-05T15:00:00+02:00"  # newest first
    assert page["results"][0]["interval_end"] == "2026-01-05T16:00:00+02:00"
    assert _zones(page["results"][0]) == {"day": 400, "night": 800}
    assert page["previous"] is None
    assert "page=2" in page["next"]
    second = (await client.get(page["next"])).json()
    assert [r["interval_start"][11:16] for r in second["results"]] == ["11:00", "10:00"]
    assert second["next"] is None
    assert "page=1" in second["previous"]


async def test_period_to_is_exclusive_and_ranges_are_checked(
    a: tuple[httpx.AsyncClient, Household],
) -> None:
    client, home = a
    page = await _get(
        client,
        home,
        group_by="day",
        period_from="2026-01-10T00:00:00+02:00",
        period_to="2026-01-11T00:00:00+02:00",
    )
    assert [r["interval_start"][:10] for r in page["results"]] == ["2026-01-10"]
    path = f"/api/v1/accounts/{home.number}/consumption"
    for params in (
        {"period_from": "2026-02-01", "period_to": "2026-01-01"},
        {"group_by": "hour", "period_from": "2025-01-01", "period_to": "2026-01-01"},
        {"period_from": "1900-01-01"},
        {"group_by": "fortnight"},
    ):
        r = await client.get(path, params=params)
        assert r.status_code == 422, params
        assert r.headers["content-type"] == "application/problem+json"


async def test_a_meter_replaced_mid_day_adds_both_meters(portal: Portal) -> None:
    home = add_household(
        portal.url, 12, plan="single", registers=(0,), installed=datetime(2025, 1, 1, tzinfo=UTC)
    )
    swap = datetime(2026, 1, 15, 12, tzinfo=KYIV)
    add_reads(
        portal.url,
        home.meter_id,
        registers=(0,),
        start=datetime(2026, 1, 14, tzinfo=KYIV),
        end=swap,
    )
    new_meter = int(
        portal.sql(
            "INSERT INTO meters (serial, model, digits, zones, registers)"
            " VALUES ('NEW-1', 'NIK 2104', 6, 1, '{0}') RETURNING id"
        )[0][0]
    )  # type: ignore[call-overload]
    portal.sql(
        "UPDATE meter_installations SET removed_at = %s WHERE meter_id = %s", (swap, home.meter_id)
    )
    portal.sql(
        "INSERT INTO meter_installations (meter_id, point_id, installed_at) VALUES (%s, %s, %s)",
        (new_meter, home.point_id, swap),
    )
    add_reads(
        portal.url,
        new_meter,
        registers=(0,),
        start=swap,
        end=datetime(2026, 1, 17, tzinfo=KYIV),
        first_wh=0,
        per_slot_wh=lambda register, at: 50,
    )
    portal.add_user("r@example.com", accounts=[home.account_id])
    client = await portal.bearer("r@example.com")
    page = await _get(
        client,
        home,
        group_by="day",
        period_from="2026-01-14",
        period_to="2026-01-17",
        order_by="period",
    )
    assert [r["consumption_wh"] for r in page["results"]] == [9600, 48 * 100 + 48 * 50, 4800]
    installs = (await client.get(f"/api/v1/accounts/{home.number}/history/installations")).json()
    assert [(i["meter_serial"], i["removed_at"] is None) for i in installs] == [
        ("NEW-1", True),
        (home.serial, False),
    ]


async def test_rollover_counts_and_a_drop_is_not_guessed(portal: Portal) -> None:
    start = datetime(2026, 1, 20, tzinfo=KYIV)
    rolls = add_household(portal.url, 13, plan="single", registers=(0,), digits=4)
    add_reads(
        portal.url,
        rolls.meter_id,
        registers=(0,),
        start=start,
        end=start + timedelta(days=1),
        first_wh=9_995_000,
    )
    # Stored as the meter shows them: modulo the rollover (10^4 kWh).
    portal.sql(
        "UPDATE readings SET value_wh = value_wh %% 10000000 WHERE meter_id = %s", (rolls.meter_id,)
    )
    drops = add_household(portal.url, 15, plan="single", registers=(0,))
    glitch = start + timedelta(hours=6)
    add_reads(
        portal.url,
        drops.meter_id,
        registers=(0,),
        start=start,
        end=start + timedelta(days=1),
        per_slot_wh=lambda r, at: -50_000 if at == glitch else 100,
    )
    portal.add_user("o@example.com", accounts=[rolls.account_id, drops.account_id])
    client = await portal.bearer("o@example.com")
    period = {"group_by": "day", "period_from": "2026-01-20", "period_to": "2026-01-21"}
    (rolled,) = (await _get(client, rolls, **period))["results"]
    assert rolled["consumption_wh"] == 9600  # across 10,000 kWh -> 0
    (dropped,) = (await _get(client, drops, **period))["results"]
    assert dropped["consumption_wh"] is None
    assert dropped["consumption"] is None
    assert dropped["zones"][0]["consumption_wh"] is None


async def test_the_23_hour_day(portal: Portal) -> None:
    home = add_household(portal.url, 14, plan="single", registers=(0,))
    add_reads(
        portal.url,
        home.meter_id,
        registers=(0,),
        start=datetime(2026, 3, 28, tzinfo=KYIV),
        end=datetime(2026, 3, 31, tzinfo=KYIV),
    )
    portal.add_user("d@example.com", accounts=[home.account_id])
    client = await portal.bearer("d@example.com")
    page = await _get(
        client,
        home,
        group_by="day",
        period_from="2026-03-28",
        period_to="2026-03-31",
        order_by="period",
    )
    assert [r["consumption_wh"] for r in page["results"]] == [9600, 9200, 9600]
    assert page["results"][1]["interval_end"] == "2026-03-30T00:00:00+03:00"


async def test_yearly_summary_has_twelve_months_and_chart(
    a: tuple[httpx.AsyncClient, Household],
) -> None:
    client, home = a
    r = await client.get(
        f"/api/v1/accounts/{home.number}/consumption/yearly", params={"year": 2026}
    )
    year = r.json()
    assert [m["consumption"] for m in year["months"][:4]] == ["892.800", "806.400", "259.200", None]
    assert year["chart"]["labels"][:2] == ["2026-01", "2026-02"]
    assert year["chart"]["series"][0] == {
        "zone": "day",
        "values": ["297.600", "268.800", "86.400"] + [None] * 9,
    }
    assert year["total"] == "1958.400"


async def test_billed_periods_come_from_the_reconciler(
    portal: Portal, a: tuple[httpx.AsyncClient, Household]
) -> None:
    client, home = a
    reconcile(
        portal.url, period=datetime(2026, 1, 15).date(), now=datetime(2026, 2, 10, tzinfo=UTC)
    )
    periods = (await client.get(f"/api/v1/accounts/{home.number}/consumption/periods")).json()
    january = next(p for p in periods if p["period"] == "2026-01")
    assert {z["zone"]: z["consumption"] for z in january["zones"]} == {
        "day": "297.600",
        "night": "595.200",
    }
    assert january["consumption"] == "892.800"
    assert {z["source"] for z in january["zones"]} == {"auto"}


async def test_analysts_read_any_point(
    portal: Portal, a: tuple[httpx.AsyncClient, Household]
) -> None:
    _, home = a
    portal.add_user("an@utility.example", role="analyst")
    analyst = await portal.bearer("an@utility.example")
    r = await analyst.get(
        f"/api/v1/analyst/points/{home.eic}/consumption",
        params={"group_by": "month", "period_from": "2026-01-01", "period_to": "2026-02-01"},
    )
    assert r.status_code == 200
    assert r.json()["results"][0]["consumption"] == "892.800"
    r = await analyst.get("/api/v1/analyst/points/62Z9999999999999/consumption")
    assert r.status_code == 404


def _kyiv(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=KYIV)


@pytest.mark.parametrize("group_by", ["hour", "day", "month"])
async def test_the_one_query_path_equals_ingest_queries(portal: Portal, group_by: str) -> None:
    """``span_consumption`` (all registers in one query) gives ingest.queries'
    rows: gaps, a rollover, an implausible drop, a partial last bucket; with
    the days and months materialized, whichever rollup watermarks it is given
    up to the store's (raw reads from there on), in each backend's form."""
    home = add_household(portal.url, 16, plan="two_zone", registers=(1, 2), digits=5)
    start = datetime(2026, 1, 30, 20, tzinfo=KYIV)

    def energy(register: int, at: datetime) -> int:
        if at == start + timedelta(hours=1):  # before register 1 rolls over
            return -40_000_000 if register == 2 else 100  # a drop on one register
        return 700 * register if at.minute != 45 else 0

    add_reads(
        portal.url,
        home.meter_id,
        registers=(1, 2),
        start=start,
        end=start + timedelta(days=2, hours=5),
        first_wh=99_990_000,
        per_slot_wh=energy,
    )
    portal.sql(
        "UPDATE readings SET value_wh = value_wh %% 100000000 WHERE meter_id = %s", (home.meter_id,)
    )
    portal.sql(
        "DELETE FROM readings WHERE meter_id = %s AND read_at BETWEEN %s AND %s",
        (home.meter_id, start + timedelta(hours=10), start + timedelta(hours=13)),
    )
    with psycopg.connect(portal.url) as conn:
        backend = conn.execute("SELECT backend FROM store_backend").fetchone()
    assert backend is not None
    rollups.refresh(portal.url, backend[0])
    # The query's form for each backend; plain PostgreSQL's runs on both.
    forms: list[Backend] = ["postgresql", *(["timescaledb"] if backend[0] == "timescaledb" else [])]
    with psycopg.connect(portal.url) as conn:
        store = conn.execute("SELECT * FROM rollup_watermarks").fetchone()
    assert store is not None
    assert store[0] > _kyiv(2, 2), "all days materialized"
    assert store[1] >= _kyiv(3, 1), "all months materialized"
    span = MeterSpan(
        meter_id=home.meter_id,
        digits=5,
        registers=[1, 2],
        since=start - timedelta(days=40),
        until=None,
    )
    lo = _kyiv(1, 30) if group_by != "month" else _kyiv(1, 1)
    marks = [
        NOTHING_MATERIALIZED,
        Watermarks(store[0], store[1]),
        Watermarks(_kyiv(1, 31), _kyiv(1, 1)),  # the range's first day materialized
        Watermarks(_kyiv(2, 1), _kyiv(2, 1)),  # January materialized, February raw
        Watermarks(_kyiv(1, 31), _kyiv(2, 1)),  # the months' ahead of the days'
        Watermarks(_kyiv(2, 2), _kyiv(1, 1)),  # days past the range end
    ]
    # Ending inside the reads (the last bucket ends at the next read), there at
    # a bucket boundary (on TimescaleDB one scan then gives the live days and
    # that read), and after them.
    for hi in (datetime(2026, 2, 1, 22, tzinfo=KYIV), _kyiv(2, 1), _kyiv(2, 10)):
        async with await psycopg.AsyncConnection.connect(portal.url) as conn:
            slow = {
                register: await queries.consumption(
                    conn,
                    meter_id=home.meter_id,
                    register=register,
                    start=lo,
                    end=hi,
                    group_by=group_by,
                )
                for register in (1, 2)
            }
            assert all(slow.values()), "the data must produce buckets"
            for form, watermarks in product(forms, marks):
                fast = await span_consumption(
                    conn,
                    span=span,
                    registers=(1, 2),
                    start=lo,
                    end=hi,
                    group_by=group_by,
                    watermarks=watermarks,
                    backend=form,
                )
                for register in (1, 2):
                    expected = [(r.interval_start, r.interval_end, r.wh) for r in slow[register]]
                    assert fast[register] == expected, (hi, form, watermarks)
                assert any(wh is None for _, _, wh in fast[2])
                assert all(wh is not None for _, _, wh in fast[1])
