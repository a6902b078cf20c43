"""The yearly summary (P9, P12): a month is billed when the reconciler has a
result for the period labelled with it, else metered from the automatic reads,
else empty; the chart's series are the months' zone figures."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

import httpx
import psycopg
import pytest

from drivers.domain import KYIV
from ingest.reconcile import confirm_submission, correct_period, reconcile
from tests.portal.world import Household, Portal, add_household, add_reads

JANUARY, FEBRUARY = date(2026, 1, 1), date(2026, 2, 1)
NOW = datetime(2026, 3, 10, tzinfo=KYIV)
"""The instant the reconciler judges at: March is the running month."""


async def _submit(
    portal: Portal, home: Household, at: datetime, values_kwh: Mapping[int, int]
) -> None:
    """A consumer's reading, stored the way the cabinet's confirm step stores it."""
    async with await psycopg.AsyncConnection.connect(portal.url, autocommit=True) as conn:
        await confirm_submission(
            conn, point_id=home.point_id, values_kwh=values_kwh, at=at, submitted_by="user:1"
        )


async def _client(portal: Portal, home: Household, email: str) -> httpx.AsyncClient:
    portal.add_user(email, accounts=[home.account_id])
    return await portal.bearer(email)


async def _yearly(client: httpx.AsyncClient, home: Household, year: int = 2026) -> dict[str, Any]:
    r = await client.get(
        f"/api/v1/accounts/{home.number}/consumption/yearly", params={"year": year}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _periods(client: httpx.AsyncClient, home: Household) -> dict[str, dict[str, Any]]:
    r = await client.get(f"/api/v1/accounts/{home.number}/consumption/periods")
    assert r.status_code == 200, r.text
    return {p["period"]: p for p in r.json()}


def _zones(row: dict[str, Any]) -> dict[str, str | None]:
    return {z["zone"]: z["consumption"] for z in row["zones"]}


def _basis(year: dict[str, Any]) -> list[str | None]:
    return [m["basis"] for m in year["months"]]


def _assert_chart_is_the_months(year: dict[str, Any]) -> None:
    """Every series value is its zone's figure in the month of the same label."""
    assert year["chart"]["labels"] == [f"{year['year']}-{m:02d}" for m in range(1, 13)]
    for series in year["chart"]["series"]:
        assert series["values"] == [_zones(m).get(series["zone"]) for m in year["months"]]
    named = {z["zone"] for m in year["months"] for z in m["zones"]}
    assert named <= {s["zone"] for s in year["chart"]["series"]}


@pytest.fixture
async def consumer_only(portal: Portal) -> tuple[httpx.AsyncClient, Household]:
    """A two-zone meter without automatic reads; the consumer sent readings in
    the windows of the cut-offs of 1 January, 1 February and 1 March 2026."""
    home = add_household(portal.url, 31, plan="two_zone", registers=(1, 2))
    await _submit(portal, home, datetime(2025, 12, 31, 10, tzinfo=KYIV), {1: 1_000, 2: 500})
    await _submit(portal, home, datetime(2026, 1, 31, 10, tzinfo=KYIV), {1: 1_150, 2: 580})
    await _submit(portal, home, datetime(2026, 3, 1, 9, tzinfo=KYIV), {1: 1_290, 2: 650})
    return await _client(portal, home, "consumer-only@example.com"), home


async def test_a_consumer_only_point_shows_its_billed_months(
    portal: Portal, consumer_only: tuple[httpx.AsyncClient, Household]
) -> None:
    client, home = consumer_only
    for period in (JANUARY, FEBRUARY):
        reconcile(portal.url, period=period, now=NOW)
    year = await _yearly(client, home)
    assert _basis(year) == ["billed", "billed"] + [None] * 10
    january, february = year["months"][:2]
    assert _zones(january) == {"day": "150.000", "night": "80.000"}
    assert _zones(february) == {"day": "140.000", "night": "70.000"}
    assert [january["consumption"], february["consumption"]] == ["230.000", "210.000"]
    assert year["total"] == "440.000"
    periods = await _periods(client, home)
    for month, label in ((january, "2026-01"), (february, "2026-02")):
        billed = periods[label]
        assert {z["source"] for z in billed["zones"]} == {"consumer"}
        assert month["consumption"] == billed["consumption"]
        assert [(z["register"], z["zone"], z["consumption"]) for z in month["zones"]] == [
            (z["register"], z["zone"], z["consumption"]) for z in billed["zones"]
        ]
    assert [z["consumption_wh"] for z in january["zones"]] == [150_000, 80_000]
    _assert_chart_is_the_months(year)


async def test_a_month_with_neither_source_is_empty(
    portal: Portal, consumer_only: tuple[httpx.AsyncClient, Household]
) -> None:
    """Consumer readings alone make no month: January has readings but no period
    result (only February was reconciled) and no automatic reads."""
    client, home = consumer_only
    reconcile(portal.url, period=FEBRUARY, now=NOW)
    year = await _yearly(client, home)
    assert _basis(year) == [None, "billed"] + [None] * 10
    january = year["months"][0]
    assert (january["consumption"], january["zones"], january["basis"]) == (None, [], None)
    assert (january["interval_start"], january["interval_end"]) == (
        "2026-01-01T00:00:00+02:00",
        "2026-02-01T00:00:00+02:00",
    )
    assert year["total"] == "210.000"
    assert [s["values"][0] for s in year["chart"]["series"]] == [None, None]
    _assert_chart_is_the_months(year)
    empty = await _yearly(client, home, year=2025)
    assert _basis(empty) == [None] * 12
    assert empty["total"] is None
    assert all(v is None for s in empty["chart"]["series"] for v in s["values"])


def _slots(register: int, at: datetime) -> int:
    return 100 * register  # day (T1) 100 Wh, night (T2) 200 Wh per 15 minutes


async def test_a_smart_meter_is_billed_for_past_months_and_metered_for_the_running_one(
    portal: Portal,
) -> None:
    """Automatic reads from 1 January to 10 March; January and February
    reconciled, and January's day closing corrected by an operator, so the
    billed figures differ from the register differences."""
    home = add_household(portal.url, 32, plan="two_zone", registers=(1, 2))
    add_reads(
        portal.url,
        home.meter_id,
        registers=(1, 2),
        start=datetime(2026, 1, 1, tzinfo=KYIV),
        end=NOW,
        per_slot_wh=_slots,
    )
    client = await _client(portal, home, "smart@example.com")
    for period in (JANUARY, FEBRUARY):
        reconcile(portal.url, period=period, now=NOW)
    correct_period(
        portal.url,
        point_eic=home.eic,
        period=JANUARY,
        register=1,
        closing_wh=5_000_000 + 300_000,  # the register difference says 297.6 kWh
        author="operator@utility.example",
        reason="the controller's photo",
        now=NOW,
    )
    year = await _yearly(client, home)
    assert _basis(year) == ["billed", "billed", "metered"] + [None] * 9
    january, february, march = year["months"][:3]
    assert _zones(january) == {"day": "300.000", "night": "595.200"}
    assert _zones(february) == {"day": "266.400", "night": "537.600"}  # opens at the correction
    assert _zones(march) == {"day": "86.400", "night": "172.800"}  # 1-10 March, not reconciled
    assert [m["consumption"] for m in year["months"][:4]] == [
        "895.200",
        "804.000",
        "259.200",
        None,
    ]
    assert year["total"] == "1958.400"
    periods = await _periods(client, home)
    assert [january["consumption"], february["consumption"]] == [
        periods["2026-01"]["consumption"],
        periods["2026-02"]["consumption"],
    ]
    assert "2026-03" not in periods
    r = await client.get(
        f"/api/v1/accounts/{home.number}/consumption",
        params={"group_by": "month", "period_from": "2026-03-01", "period_to": "2026-04-01"},
    )
    (metered,) = r.json()["results"]
    assert march["zones"] == metered["zones"]
    assert year["chart"]["series"] == [
        {"zone": "day", "values": ["300.000", "266.400", "86.400"] + [None] * 9},
        {"zone": "night", "values": ["595.200", "537.600", "172.800"] + [None] * 9},
    ]
    _assert_chart_is_the_months(year)


async def test_a_single_register_meter_on_two_zones_is_billed_per_zone(portal: Portal) -> None:
    """The reconciler splits the total register into the plan's zones by the
    calendar (day 07-23, night 23-07); months not reconciled yet have only the
    meter's total: the chart carries a series for each."""
    home = add_household(portal.url, 33, plan="two_zone", registers=(0,))
    add_reads(
        portal.url, home.meter_id, registers=(0,), start=datetime(2026, 1, 1, tzinfo=KYIV), end=NOW
    )
    client = await _client(portal, home, "split@example.com")
    reconcile(portal.url, period=JANUARY, now=NOW)
    year = await _yearly(client, home)
    assert _basis(year)[:3] == ["billed", "metered", "metered"]
    assert _zones(year["months"][0]) == {"day": "198.400", "night": "99.200"}  # 31 x 16 h, 8 h
    assert _zones(year["months"][1]) == {"total": "268.800"}
    assert year["chart"]["series"] == [
        {"zone": "total", "values": [None, "268.800", "86.400"] + [None] * 9},
        {"zone": "day", "values": ["198.400"] + [None] * 11},
        {"zone": "night", "values": ["99.200"] + [None] * 11},
    ]
    _assert_chart_is_the_months(year)


@pytest.fixture
def mid_month_cutoff(portal: Portal) -> Iterator[None]:
    """The policy's cut-off on the 15th (restored afterwards: tests share it)."""
    portal.sql("UPDATE reconcile_policy SET cutoff_day = 15, window_until_day = 17")
    yield
    portal.sql("UPDATE reconcile_policy SET cutoff_day = 1, window_until_day = 3")


async def test_a_period_shows_in_the_month_it_is_labelled_with(
    portal: Portal, mid_month_cutoff: None
) -> None:
    """With the cut-off on the 15th, period 2026-01 runs 15 January to 15
    February: its 31 days are January's row; February, not reconciled, is the
    calendar month's register difference."""
    home = add_household(portal.url, 34, plan="single", registers=(0,))
    add_reads(
        portal.url, home.meter_id, registers=(0,), start=datetime(2026, 1, 10, tzinfo=KYIV), end=NOW
    )
    client = await _client(portal, home, "mid-month@example.com")
    reconcile(portal.url, period=JANUARY, now=NOW)
    year = await _yearly(client, home)
    assert _basis(year)[:4] == ["billed", "metered", "metered", None]
    assert [m["consumption"] for m in year["months"][:3]] == ["297.600", "268.800", "86.400"]
    assert year["months"][0]["interval_start"] == "2026-01-01T00:00:00+02:00"
    _assert_chart_is_the_months(year)
