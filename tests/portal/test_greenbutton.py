"""The Green Button feed's LocalTimeParameters (decoded as espi.xsd defines
DstRuleType) and its UsageSummary per billing period (equal to the feed's own
interval readings), validated against the ESPI 4.0 and Atom schemas."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import httpx
import pytest
from lxml import etree

from drivers.domain import KYIV
from ingest.reconcile.policy import Policy
from portal_api.exports.billing import grain
from tests.portal.helpers import greenbutton_schema, validate_espi
from tests.portal.world import Household, Portal, add_household, add_reads

ATOM = "{http://www.w3.org/2005/Atom}"
ESPI = "{http://naesb.org/espi}"


def _kyiv(*args: int) -> datetime:
    return datetime(*args, tzinfo=KYIV)  # type: ignore[misc]


async def _feed(client: httpx.AsyncClient, home: Household, **params: str) -> etree._Element:
    r = await client.get(
        f"/api/v1/accounts/{home.number}/export", params={**params, "format": "espi"}
    )
    assert r.status_code == 200, r.text
    return validate_espi(r.content)


# --- LocalTimeParameters ------------------------------------------------------


def decode_dst_rule(hex_text: str, year: int) -> datetime:
    """espi.xsd DstRuleType, read independently of the encoder: the local wall
    time of the rule in ``year`` (naive)."""
    value = int(hex_text, 16)
    seconds = value & 0xFFF
    hour = (value >> 12) & 0x1F
    weekday = (value >> 17) & 0x7  # Monday = 1
    day = (value >> 20) & 0x1F
    operator = (value >> 25) & 0x7
    month = (value >> 28) & 0xF
    days = [
        date(year, month, d)
        for d in range(1, 32)
        if d <= (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
    ]
    if operator == 0:
        chosen = date(year, month, day)
    elif operator == 1:
        chosen = next(d for d in days if d.day >= day and d.isoweekday() == weekday)
    else:
        matching = [d for d in days if d.isoweekday() == weekday]
        chosen = matching[-1] if operator == 7 else matching[operator - 2]
    return datetime.combine(chosen, time(hour)) + timedelta(seconds=seconds)


def test_the_decoder_reads_the_schema_example() -> None:
    """espi.xsd's own example (third Friday in March, 1:45) and the US start
    rule Green Button samples carry (second Sunday in March, 2:00)."""
    example = 3 << 28 | 4 << 25 | 0 << 20 | 5 << 17 | 1 << 12 | 2700
    assert decode_dst_rule(f"{example:08X}", 2026) == datetime(2026, 3, 20, 1, 45)
    assert decode_dst_rule("360E2000", 2026) == datetime(2026, 3, 8, 2, 0)
    assert decode_dst_rule("B40E2000", 2026) == datetime(2026, 11, 1, 2, 0)


def _transitions(year: int) -> list[datetime]:
    """Kyiv's offset changes in ``year`` (UTC), found by walking hour by hour."""
    at, end, found = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC), []
    while at < end:
        if (at - timedelta(seconds=1)).astimezone(KYIV).utcoffset() != at.astimezone(
            KYIV
        ).utcoffset():
            found.append(at)
        at += timedelta(hours=1)
    return found


@pytest.fixture
async def single(portal: Portal) -> tuple[httpx.AsyncClient, Household]:
    home = add_household(portal.url, 31, plan="single", registers=(0,))
    portal.add_user("gb@example.com", accounts=[home.account_id])
    return await portal.bearer("gb@example.com"), home


async def test_local_time_parameters_are_kyivs(
    single: tuple[httpx.AsyncClient, Household],
) -> None:
    client, home = single
    feed = await _feed(client, home, period_from="2026-01-01", period_to="2026-01-02")
    [params] = list(feed.iter(f"{ESPI}LocalTimeParameters"))
    fields = {child.tag.removeprefix(ESPI): child.text for child in params}
    assert fields == {
        "dstEndRule": "AE0E4000",
        "dstOffset": "3600",
        "dstStartRule": "3E0E3000",
        "tzOffset": "7200",
    }
    tz, dst = int(fields["tzOffset"] or ""), int(fields["dstOffset"] or "")
    assert decode_dst_rule(fields["dstStartRule"] or "", 2026) == datetime(2026, 3, 29, 3, 0)
    assert decode_dst_rule(fields["dstEndRule"] or "", 2026) == datetime(2026, 10, 25, 4, 0)
    for year in range(2026, 2036):
        # the rule's wall time is in the time in force before the change
        start = decode_dst_rule(fields["dstStartRule"] or "", year) - timedelta(seconds=tz)
        end = decode_dst_rule(fields["dstEndRule"] or "", year) - timedelta(seconds=tz + dst)
        assert _transitions(year) == [start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)]
    assert _kyiv(2026, 1, 15).utcoffset() == timedelta(seconds=tz)
    assert _kyiv(2026, 7, 15).utcoffset() == timedelta(seconds=tz + dst)


# --- UsageSummary -------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    href: str
    kind: str
    start: datetime
    end: datetime
    wh: int | None
    quality: str | None
    status: int


def summaries(feed: etree._Element) -> list[Summary]:
    out = []
    for entry in feed.iter(f"{ATOM}entry"):
        node = entry.find(f"{ATOM}content/{ESPI}UsageSummary")
        if node is None:
            continue
        [measured] = [
            c
            for c in node
            if c.tag
            in (
                f"{ESPI}overallConsumptionLastPeriod",
                f"{ESPI}currentBillingPeriodOverAllConsumption",
            )
        ]
        assert measured.findtext(f"{ESPI}powerOfTenMultiplier") == "0"
        assert measured.findtext(f"{ESPI}uom") == "72"  # Wh
        start = int(node.findtext(f"{ESPI}billingPeriod/{ESPI}start") or "")
        duration = int(node.findtext(f"{ESPI}billingPeriod/{ESPI}duration") or "")
        value = measured.findtext(f"{ESPI}value")
        out.append(
            Summary(
                href=_link(entry, "self"),
                kind=measured.tag.removeprefix(ESPI),
                start=datetime.fromtimestamp(start, UTC),
                end=datetime.fromtimestamp(start + duration, UTC),
                wh=None if value is None else int(value),
                quality=node.findtext(f"{ESPI}qualityOfReading"),
                status=int(node.findtext(f"{ESPI}statusTimeStamp") or ""),
            )
        )
    return out


def readings_wh(feed: etree._Element, start: datetime, end: datetime) -> int:
    """The feed's interval readings (all zones) whose interval lies in [start, end)."""
    total = 0
    for reading in feed.iter(f"{ESPI}IntervalReading"):
        begins = int(reading.findtext(f"{ESPI}timePeriod/{ESPI}start") or "")
        length = int(reading.findtext(f"{ESPI}timePeriod/{ESPI}duration") or "")
        if start.timestamp() <= begins and begins + length <= end.timestamp():
            total += int(reading.findtext(f"{ESPI}value") or "")
    return total


def _link(entry: etree._Element, rel: str) -> str:
    [link] = [k for k in entry.findall(f"{ATOM}link") if k.get("rel") == rel]
    return link.get("href") or ""


@pytest.fixture
async def two_zone(portal: Portal) -> tuple[httpx.AsyncClient, Household]:
    """A two-zone meter read every 15 minutes from 30 January to 3 February:
    300 Wh a slot (100 day, 200 night), 28,800 Wh a day."""
    home = add_household(portal.url, 32, plan="two_zone", registers=(1, 2))
    add_reads(
        portal.url,
        home.meter_id,
        registers=(1, 2),
        start=_kyiv(2026, 1, 30),
        end=_kyiv(2026, 2, 3),
    )
    portal.add_user("gb@example.com", accounts=[home.account_id])
    return await portal.bearer("gb@example.com"), home


async def test_one_summary_per_billing_period_equal_to_its_readings(
    two_zone: tuple[httpx.AsyncClient, Household],
) -> None:
    client, home = two_zone
    before = int(datetime.now(UTC).timestamp())
    feed = await _feed(
        client, home, period_from="2026-01-30", period_to="2026-02-03", group_by="day"
    )
    found = summaries(feed)
    assert [(s.kind, s.start, s.end, s.wh, s.quality) for s in found] == [
        ("overallConsumptionLastPeriod", _kyiv(2026, 1, 30), _kyiv(2026, 2, 1), 57_600, None),
        ("overallConsumptionLastPeriod", _kyiv(2026, 2, 1), _kyiv(2026, 2, 3), 57_600, None),
    ]
    for s in found:
        assert s.wh == readings_wh(feed, s.start, s.end)
        assert before <= s.status <= datetime.now(UTC).timestamp()
    assert [s.href.rsplit("/", 1)[1] for s in found] == ["2026-01", "2026-02"]
    assert readings_wh(feed, found[0].start, found[-1].end) == 115_200  # nothing left out


@pytest.mark.parametrize("group_by", ["hour", "week", "quarter", "year"])
async def test_summaries_do_not_depend_on_the_bucket_size(
    two_zone: tuple[httpx.AsyncClient, Household], group_by: str
) -> None:
    """Weeks, quarters and years straddle cut-offs: the totals come from days or
    months then, and still split at the cut-off. (A quarter or year export
    covers whole months, hence the January summary's start.)"""
    client, home = two_zone
    feed = await _feed(
        client, home, period_from="2026-01-30", period_to="2026-02-03", group_by=group_by
    )
    found = summaries(feed)
    first_day = 30 if group_by in ("hour", "week") else 1
    assert [(s.start, s.wh) for s in found] == [
        (_kyiv(2026, 1, first_day), 57_600),
        (_kyiv(2026, 2, 1), 57_600),
    ]
    if group_by == "hour":
        for s in found:
            assert s.wh == readings_wh(feed, s.start, s.end)


async def test_a_whole_march_is_743_hours(
    single: tuple[httpx.AsyncClient, Household], portal: Portal
) -> None:
    """A full period's billingPeriod is its cut-offs, across the DST change."""
    client, home = single
    add_reads(
        portal.url, home.meter_id, registers=(0,), start=_kyiv(2026, 3, 1), end=_kyiv(2026, 4, 1)
    )
    feed = await _feed(
        client, home, period_from="2026-03-01", period_to="2026-04-01", group_by="month"
    )
    [march] = summaries(feed)
    assert (march.start, march.end) == (_kyiv(2026, 3, 1), _kyiv(2026, 4, 1))
    assert (march.end - march.start) == timedelta(hours=743)
    assert march.wh == 743 * 4 * 100 == readings_wh(feed, march.start, march.end)


async def test_the_running_period_is_the_current_one(
    single: tuple[httpx.AsyncClient, Household], portal: Portal
) -> None:
    client, home = single
    now = datetime.now(UTC)
    month = now.astimezone(KYIV).date().replace(day=1)
    since = datetime.combine(month - timedelta(days=2), time(0), KYIV)
    add_reads(portal.url, home.meter_id, registers=(0,), start=since, end=now)
    feed = await _feed(client, home, period_from=since.isoformat(), group_by="day")
    last, current = summaries(feed)
    assert (last.kind, last.start, last.end) == (
        "overallConsumptionLastPeriod",
        since,
        datetime.combine(month, time(0), KYIV),
    )
    assert (current.kind, current.start) == (
        "currentBillingPeriodOverAllConsumption",
        datetime.combine(month, time(0), KYIV),
    )
    assert last.wh == 2 * 96 * 100
    for s in (last, current):
        assert s.wh == readings_wh(feed, s.start, s.end)


async def test_a_period_with_an_unknown_bucket_has_no_total(
    single: tuple[httpx.AsyncClient, Household], portal: Portal
) -> None:
    client, home = single
    glitch = _kyiv(2026, 2, 2, 6)
    add_reads(
        portal.url,
        home.meter_id,
        registers=(0,),
        start=_kyiv(2026, 1, 30),
        end=_kyiv(2026, 2, 4),
        per_slot_wh=lambda r, at: -50_000 if at == glitch else 100,
    )
    feed = await _feed(client, home, period_from="2026-01-30", period_to="2026-02-04")
    january, february = summaries(feed)
    assert (january.wh, january.quality) == (2 * 9_600, None)
    assert (february.wh, february.quality) == (None, "10")  # questionable, no value


@pytest.fixture
def mid_month_cutoff(portal: Portal) -> Iterator[None]:
    """The policy's cut-off on the 15th (restored afterwards: tests share it)."""
    portal.sql("UPDATE reconcile_policy SET cutoff_day = 15, window_until_day = 17")
    yield
    portal.sql("UPDATE reconcile_policy SET cutoff_day = 1, window_until_day = 3")


async def test_billing_periods_follow_the_policys_cutoff(
    single: tuple[httpx.AsyncClient, Household], portal: Portal, mid_month_cutoff: None
) -> None:
    client, home = single
    add_reads(
        portal.url, home.meter_id, registers=(0,), start=_kyiv(2026, 1, 1), end=_kyiv(2026, 3, 1)
    )
    feed = await _feed(
        client, home, period_from="2026-01-01", period_to="2026-03-01", group_by="month"
    )
    assert [(s.href.rsplit("/", 1)[1], s.start, s.end, s.wh) for s in summaries(feed)] == [
        ("2025-12", _kyiv(2026, 1, 1), _kyiv(2026, 1, 15), 14 * 9_600),
        ("2026-01", _kyiv(2026, 1, 15), _kyiv(2026, 2, 15), 31 * 9_600),
        ("2026-02", _kyiv(2026, 2, 15), _kyiv(2026, 3, 1), 14 * 9_600),
    ]


def test_the_summary_grain() -> None:
    default, mid_month, morning = (
        Policy(),
        Policy(cutoff_day=15, window_until_day=17),
        Policy(cutoff_time=time(7)),
    )
    sizes = ["hour", "day", "week", "month", "quarter", "year"]
    assert [grain(g, default) for g in sizes] == ["hour", "day", "day"] + ["month"] * 3  # type: ignore[arg-type]
    assert [grain(g, mid_month) for g in sizes] == ["hour"] + ["day"] * 5  # type: ignore[arg-type]
    assert [grain(g, morning) for g in sizes] == ["hour"] * 6  # type: ignore[arg-type]


# --- links and validation -------------------------------------------------------


async def test_entries_link_up_and_to_each_other(
    two_zone: tuple[httpx.AsyncClient, Household],
) -> None:
    client, home = two_zone
    feed = await _feed(client, home, period_from="2026-01-30", period_to="2026-02-03")
    entries = {
        e.find(f"{ATOM}content")[0].tag.removeprefix(ESPI) + f"#{i}": e  # type: ignore[index]
        for i, e in enumerate(feed.iter(f"{ATOM}entry"))
    }
    selves = [_link(e, "self") for e in entries.values()]
    ups = {_link(e, "up") for e in entries.values()}
    assert len(set(selves)) == len(selves)
    for entry in entries.values():
        assert _link(entry, "self").rsplit("/", 1)[0] == _link(entry, "up")
        for link in entry.findall(f"{ATOM}link"):
            if link.get("rel") == "related":
                assert link.get("href") in set(selves) | ups, link.get("href")
    [point] = [e for k, e in entries.items() if k.startswith("UsagePoint#")]
    related = {k.get("href") for k in point.findall(f"{ATOM}link") if k.get("rel") == "related"}
    [time_entry] = [e for k, e in entries.items() if k.startswith("LocalTimeParameters#")]
    summary_ups = {_link(e, "up") for k, e in entries.items() if k.startswith("UsageSummary#")}
    assert _link(time_entry, "self") in related
    assert summary_ups == {_link(point, "self") + "/UsageSummary"}
    assert summary_ups <= related


MUTATIONS = {
    "a DST rule longer than 32 bits": ("dstStartRule", lambda n: setattr(n, "text", "3E0E300000")),
    "a DST rule that is not hex": ("dstEndRule", lambda n: setattr(n, "text", "last-sun")),
    "no statusTimeStamp": ("statusTimeStamp", lambda n: n.getparent().remove(n)),
    "a total that is not an integer": ("value", lambda n: setattr(n, "text", "57.6")),
}


@pytest.mark.parametrize("name", list(MUTATIONS))
async def test_the_schema_checks_the_new_elements(
    two_zone: tuple[httpx.AsyncClient, Household], name: str
) -> None:
    client, home = two_zone
    feed = await _feed(client, home, period_from="2026-01-30", period_to="2026-02-03")
    tag, mutate = MUTATIONS[name]
    scope = next(feed.iter(f"{ESPI}UsageSummary")) if tag == "value" else feed
    mutate(next(scope.iter(f"{ESPI}{tag}")))
    assert not greenbutton_schema().validate(feed)
