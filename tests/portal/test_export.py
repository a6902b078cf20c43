"""Exports (P10): CSV and XLSX hold the same figures as the API; the Green
Button feed validates against the ESPI 4.0 and Atom schemas."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import httpx
import openpyxl
import pytest
from lxml import etree

from drivers.domain import KYIV
from tests.portal.helpers import greenbutton_schema, validate_espi
from tests.portal.world import Household, Portal, add_household, add_reads

ATOM = "{http://www.w3.org/2005/Atom}"
ESPI = "{http://naesb.org/espi}"
PERIOD = {"period_from": "2026-01-01", "period_to": "2026-01-04"}


@pytest.fixture
async def three_zone(portal: Portal) -> tuple[httpx.AsyncClient, Household]:
    home = add_household(portal.url, 21, plan="three_zone", registers=(1, 2, 3))
    add_reads(
        portal.url,
        home.meter_id,
        registers=(1, 2, 3),
        start=datetime(2026, 1, 1, tzinfo=KYIV),
        end=datetime(2026, 1, 5, tzinfo=KYIV),
    )
    portal.add_user("x@example.com", accounts=[home.account_id])
    return await portal.bearer("x@example.com"), home


async def _export(
    client: httpx.AsyncClient, home: Household, fmt: str, **params: str
) -> httpx.Response:
    r = await client.get(
        f"/api/v1/accounts/{home.number}/export", params={**PERIOD, **params, "format": fmt}
    )
    assert r.status_code == 200, r.text
    return r


async def test_csv_matches_the_api(three_zone: tuple[httpx.AsyncClient, Household]) -> None:
    client, home = three_zone
    rows = list(csv.DictReader(io.StringIO((await _export(client, home, "csv")).text)))
    assert [r["interval_start"] for r in rows] == [
        "2026-01-01T00:00:00+02:00",
        "2026-01-02T00:00:00+02:00",
        "2026-01-03T00:00:00+02:00",
    ]
    assert rows[0] == {
        "interval_start": "2026-01-01T00:00:00+02:00",
        "interval_end": "2026-01-02T00:00:00+02:00",
        "peak_kwh": "9.600",
        "half_peak_kwh": "19.200",
        "night_kwh": "28.800",
        "total_kwh": "57.600",
    }
    api = (
        await client.get(
            f"/api/v1/accounts/{home.number}/consumption", params={**PERIOD, "order_by": "period"}
        )
    ).json()
    assert [r["total_kwh"] for r in rows] == [r["consumption"] for r in api["results"]]


async def test_xlsx_has_a_header_and_numbers(
    three_zone: tuple[httpx.AsyncClient, Household],
) -> None:
    client, home = three_zone
    r = await _export(client, home, "xlsx", group_by="month", period_to="2026-02-01")
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    assert [c.value for c in sheet[2]][:2] == ["EIC", home.eic]
    assert [c.value for c in sheet[4]] == [
        "Початок (Київ)",
        "Кінець (Київ)",
        "peak, кВт·год",
        "half_peak, кВт·год",
        "night, кВт·год",
        "Разом, кВт·год",
    ]
    values = [c.value for c in sheet[5]]
    assert values[0] == datetime(2026, 1, 1)
    assert values[1] == datetime(2026, 2, 1)
    assert [float(v) for v in values[2:]] == [38.4, 76.8, 115.2, 230.4]  # 4 days of reads


@pytest.mark.parametrize("group_by", ["hour", "day", "month"])
async def test_green_button_feed_is_valid(
    three_zone: tuple[httpx.AsyncClient, Household], group_by: str
) -> None:
    client, home = three_zone
    r = await _export(client, home, "espi", group_by=group_by)
    assert r.headers["content-type"] == "application/atom+xml"
    feed = validate_espi(r.content)
    kinds = [e[0].tag.removeprefix(ESPI) for e in feed.iter(f"{ATOM}content")]
    assert kinds == [
        "UsagePoint",
        "LocalTimeParameters",
        *["MeterReading", "ReadingType", "IntervalBlock"] * 3,
        "UsageSummary",  # January 2026, the one billing period exported
    ]
    tous = [int(t.text or "") for t in feed.iter(f"{ESPI}tou")]
    assert tous == [1, 2, 3]
    block = next(feed.iter(f"{ESPI}IntervalBlock"))
    readings = block.findall(f"{ESPI}IntervalReading")
    assert len(readings) == {"hour": 72, "day": 3, "month": 1}[group_by]
    first = readings[0]
    start = int(first.findtext(f"{ESPI}timePeriod/{ESPI}start") or 0)
    assert start == int(datetime(2026, 1, 1, tzinfo=KYIV).timestamp())
    per_bucket = {"hour": 400, "day": 9600, "month": 38400}[group_by]
    assert first.findtext(f"{ESPI}value") == str(per_bucket)  # Wh, uom 72


async def test_the_validator_is_not_vacuous(
    three_zone: tuple[httpx.AsyncClient, Household],
) -> None:
    """A feed with a wrong ESPI element fails validation: the schema does check."""
    client, home = three_zone
    feed = etree.fromstring((await _export(client, home, "espi")).content)
    uom = next(feed.iter(f"{ESPI}uom"))
    uom.addprevious(etree.Element(f"{ESPI}notAnEspiField"))
    assert not greenbutton_schema().validate(feed)


async def test_unknown_values_are_questionable_in_the_feed(portal: Portal) -> None:
    home = add_household(portal.url, 22, plan="single", registers=(0,))
    glitch = datetime(2026, 1, 2, 6, tzinfo=KYIV)
    add_reads(
        portal.url,
        home.meter_id,
        registers=(0,),
        start=datetime(2026, 1, 1, tzinfo=KYIV),
        end=datetime(2026, 1, 4, tzinfo=KYIV),
        per_slot_wh=lambda r, at: -50_000 if at == glitch else 100,
    )
    portal.add_user("q@example.com", accounts=[home.account_id])
    client = await portal.bearer("q@example.com")
    feed = validate_espi((await _export(client, home, "espi")).content)
    readings = list(feed.iter(f"{ESPI}IntervalReading"))
    assert [r.findtext(f"{ESPI}ReadingQuality/{ESPI}quality") for r in readings] == [
        None,
        "10",
        None,
    ]
    assert readings[1].find(f"{ESPI}value") is None
    rows = list(csv.DictReader(io.StringIO((await _export(client, home, "csv")).text)))
    assert [r["total_kwh"] for r in rows] == ["9.600", "", "9.600"]
