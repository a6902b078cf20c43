"""Properties over generated points: zones sum to the total, consumption is not
negative unless flagged, and a re-run creates no new version."""

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.domain import KYIV, Plan, Source, TariffCalendar
from ingest.reconcile import reconcile
from tests.fixtures.db import empty_store
from tests.ingest.reconcile.conftest import Site, empty_reconciler, kyiv

JUNE, MAY = date(2026, 6, 1), date(2026, 5, 1)
HOUR = timedelta(hours=1)
_SETTINGS = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _fresh(url: str) -> Site:
    empty_store(url)
    empty_reconciler(url)
    return Site(url)


@_SETTINGS
@given(
    plan=st.sampled_from([Plan.TWO_ZONE, Plan.THREE_ZONE]),
    profile=st.lists(st.integers(0, 2_000), min_size=24, max_size=24),
    scale=st.lists(st.integers(0, 3), min_size=30, max_size=30),
)
def test_zones_sum_to_the_total(
    store_url: str, plan: Plan, profile: list[int], scale: list[int]
) -> None:
    site = _fresh(store_url)
    p = site.point(80, plan=plan.value, registers=(0,), power_kw=20)
    calendar, start = TariffCalendar(), kyiv(2026, 6, 1)
    value, reads, zones = 1_000_000, [(start, 1_000_000)], {}
    for h in range(30 * 24):
        at = start + HOUR * h
        local = at.astimezone(KYIV)
        energy = profile[local.hour] * scale[local.day - 1]
        register = calendar.zone_at(plan, at).register
        zones[register] = zones.get(register, 0) + energy
        value += energy
        reads.append((at + HOUR, value))
    site.reads(p.meter_id, 0, reads)
    reconcile(store_url, period=JUNE, now=kyiv(2026, 7, 10))
    rows = site.results(JUNE)
    total = rows[(p.eic, 0)]["consumption_wh"]
    assert total == value - 1_000_000
    by_zone = {r: rows[(p.eic, r)]["consumption_wh"] for r in zones}
    assert sum(by_zone.values()) == total
    assert by_zone == zones  # every interval on the hour: the split is exact


reading_at = st.integers(-36, 36).map(lambda h: HOUR * h)


@_SETTINGS
@given(
    digits=st.sampled_from([5, 6]),
    opening_kwh=st.integers(0, 99_999),
    consumption_kwh=st.integers(0, 1_500),
    auto=st.lists(reading_at, max_size=4),
    consumer_error_kwh=st.none() | st.integers(-400, 400),
    opening_consumer=st.booleans(),
    controller=st.none() | st.tuples(st.integers(1, 25), st.integers(-300, 300)),
)
def test_consumption_is_not_negative_unless_flagged_and_reruns_change_nothing(
    store_url: str,
    digits: int,
    opening_kwh: int,
    consumption_kwh: int,
    auto: list[timedelta],
    consumer_error_kwh: int | None,
    opening_consumer: bool,
    controller: tuple[int, int] | None,
) -> None:
    site = _fresh(store_url)
    p = site.point(81, digits=digits, power_kw=5)
    rollover = 10**digits * 1000
    c0, c1 = kyiv(2026, 5, 1), kyiv(2026, 6, 1)
    opening, rate = opening_kwh * 1000, consumption_kwh * 1000 / (c1 - c0).total_seconds()

    def truth(at):  # the register as it really was at ``at`` (wrapping at the rollover)
        return int(opening + rate * (at - c0).total_seconds()) % rollover

    for cut in (c0, c1):
        site.reads(p.meter_id, 0, sorted({(cut + d, truth(cut + d)) for d in auto}))
    if opening_consumer:
        at = c0 - timedelta(hours=20)
        site.reads(p.meter_id, 0, [(at, truth(at) // 1000 * 1000)], source=Source.CONSUMER)
    if consumer_error_kwh is not None:
        at = c1 + timedelta(hours=30)
        value = (truth(at) + consumer_error_kwh * 1000) % rollover // 1000 * 1000
        site.reads(p.meter_id, 0, [(at, value)], source=Source.CONSUMER)
    if controller is not None:
        days, error_kwh = controller
        at = c1 - timedelta(days=days)
        value = (truth(at) + error_kwh * 1000) % rollover // 1000 * 1000
        site.reads(p.meter_id, 0, [(at, value)], source=Source.CONTROLLER)

    first = reconcile(store_url, period=MAY, now=kyiv(2026, 6, 10))
    flagged = {register for (_, register, _) in site.flags(MAY)}
    for (_, register), row in site.results(MAY).items():
        if row["consumption_wh"] is None or row["consumption_wh"] < 0:
            assert flagged & {register, None}, row
            assert row["status"] == "disputed"
    again = reconcile(store_url, period=MAY, now=kyiv(2026, 6, 10))
    assert (again.versions, again.flags) == (0, 0)
    assert first.points == again.points == 1
