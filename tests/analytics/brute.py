"""Brute-force pandas versions of the analytics queries, written from the
definitions in docs/analysts.md without the SQL or ``ingest.analytics`` helpers.

Everything works on raw rows loaded once from the store; buckets are found
with pandas' own calendar (wall-clock periods in Europe/Kyiv).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import psycopg

KYIV = "Europe/Kyiv"
ZONE_NAMES = {
    ("single", 0): "total",
    ("two_zone", 1): "day",
    ("two_zone", 2): "night",
    ("three_zone", 1): "peak",
    ("three_zone", 2): "half_peak",
    ("three_zone", 3): "night",
}
_OFFSETS = {
    "15min": pd.Timedelta(minutes=15),
    "hour": pd.Timedelta(hours=1),
    "day": pd.DateOffset(days=1),
    "week": pd.DateOffset(weeks=1),
    "month": pd.DateOffset(months=1),
    "quarter": pd.DateOffset(months=3),
    "year": pd.DateOffset(years=1),
}
_PERIODS = {"month": "M", "quarter": "Q", "year": "Y"}


@dataclass
class Store:
    readings: pd.DataFrame
    meters: pd.DataFrame
    installations: pd.DataFrame
    points: pd.DataFrame


def load(url: str) -> Store:
    with psycopg.connect(url) as conn:

        def frame(query: str) -> pd.DataFrame:
            cur = conn.execute(query)  # type: ignore[call-overload]
            names = [d.name for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=names)

        readings = frame(
            "SELECT meter_id, register, read_at, source, value_wh, quality FROM readings"
        )
        meters = frame("SELECT id, serial, digits, registers FROM meters")
        installations = frame(
            "SELECT meter_id, point_id, installed_at, removed_at FROM meter_installations"
        )
        points = frame("SELECT id, eic, region, address, tariff_plan FROM metering_points")
    readings["read_at"] = pd.to_datetime(readings["read_at"], utc=True)
    for c in ("installed_at", "removed_at"):
        installations[c] = pd.to_datetime(installations[c], utc=True)
    return Store(readings, meters, installations, points)


def bucket_of(ts: pd.Series, size: str) -> pd.Series:
    """UTC start of the Kyiv local bucket of each UTC timestamp."""
    if size == "15min":
        return ts.dt.floor("15min")
    if size == "hour":
        return ts.dt.floor("h")
    wall = ts.dt.tz_convert(KYIV).dt.tz_localize(None)
    if size == "day":
        start = wall.dt.normalize()
    elif size == "week":
        start = wall.dt.normalize() - pd.to_timedelta(wall.dt.day_of_week, unit="D")
    else:
        start = wall.dt.to_period(_PERIODS[size]).dt.start_time
    return start.dt.tz_localize(KYIV).dt.tz_convert("UTC")


def after(t: datetime, size: str) -> pd.Timestamp:
    """The bucket start after bucket start ``t`` (wall-clock arithmetic for calendar units)."""
    return (pd.Timestamp(t).tz_convert(KYIV) + _OFFSETS[size]).tz_convert("UTC")


def selected(store: Store, start: datetime, end: datetime, **filters: str | None) -> pd.DataFrame:
    """One row per selected meter and zone register, with the point's attributes."""
    inst = store.installations
    live = inst[
        (inst.installed_at < pd.Timestamp(end))
        & (inst.removed_at.isna() | (inst.removed_at > pd.Timestamp(start)))
    ]
    latest = live.sort_values("installed_at").groupby("meter_id").tail(1)
    m = latest.merge(store.meters, left_on="meter_id", right_on="id").merge(
        store.points, left_on="point_id", right_on="id", suffixes=("", "_p")
    )
    m = m.rename(columns={"tariff_plan": "plan"})
    for key in ("eic", "serial", "plan"):
        if filters.get(key) is not None:
            m = m[m[key] == filters[key]]
    for key in ("region", "address"):
        if filters.get(key) is not None:
            m = m[m[key].str.startswith(filters[key])]
    rows = []
    for r in m.itertuples():
        zone_regs = sorted(x for x in r.registers if 1 <= x <= 4) or [0]
        for reg in zone_regs:
            zone = ZONE_NAMES.get((r.plan, reg), "total" if reg == 0 else f"T{reg}")
            rows.append(
                {"meter_id": r.meter_id, "serial": r.serial, "eic": r.eic, "region": r.region,
                 "address": r.address, "plan": r.plan, "register": reg, "zone": zone,
                 "rollover_wh": 10**r.digits * 1000}
            )  # fmt: skip
    out = pd.DataFrame(rows, columns=["meter_id", "serial", "eic", "region", "address", "plan",
                                      "register", "zone", "rollover_wh"])  # fmt: skip
    if filters.get("zone") is not None:
        out = out[out.zone == filters["zone"]]
    return out


def advance(diff: int, rollover: int) -> int | None:
    if diff >= 0:
        return diff
    wrapped = diff + rollover
    return wrapped if 0 <= wrapped < rollover // 10 else None


def usage(
    store: Store,
    start: datetime,
    end: datetime,
    size: str,
    *,
    source: int = 1,
    **filters: str | None,
) -> pd.DataFrame:
    """Consumption per meter, zone register and bucket (the docs' definition)."""
    zones = selected(store, start, end, **filters)
    hi = after(end, size)
    r = store.readings
    r = r[(r.source == source) & (r.read_at >= pd.Timestamp(start)) & (r.read_at < hi)]
    r = r.merge(zones, on=["meter_id", "register"])
    columns = [*zones.columns, "bucket", "n", "wh"]
    if r.empty:
        return pd.DataFrame(columns=columns)
    r = r.assign(bucket=bucket_of(r.read_at, size)).sort_values("read_at")
    g = r.groupby(["meter_id", "register", "bucket"], sort=True)
    b = g.agg(first_wh=("value_wh", "first"), last_wh=("value_wh", "last"), n=("value_wh", "size"))
    b = b.reset_index()
    nxt = b.groupby(["meter_id", "register"])["first_wh"].shift(-1)
    b["end_wh"] = nxt.fillna(b["last_wh"]).astype("int64")
    b = b.merge(zones, on=["meter_id", "register"])
    b["wh"] = [advance(int(e - f), int(roll)) for e, f, roll in
               zip(b.end_wh, b.first_wh, b.rollover_wh, strict=True)]  # fmt: skip
    b = b[(b.bucket >= pd.Timestamp(start)) & (b.bucket < pd.Timestamp(end))]
    return b[columns].reset_index(drop=True)


def aggregates(u: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    keys = ["bucket", *by]
    per = u.groupby([*keys, "meter_id"]).agg(
        known=("wh", "count"), rows=("wh", "size"), wh=("wh", lambda s: s.dropna().sum())
    )
    per = per[per.known == per.rows].reset_index()
    per["wh"] = per["wh"].astype("float64")
    return (
        per.groupby(keys)
        .agg(
            meters=("wh", "size"),
            sum_wh=("wh", "sum"),
            mean_wh=("wh", "mean"),
            p50_wh=("wh", lambda s: float(np.percentile(s, 50))),
            p95_wh=("wh", lambda s: float(np.percentile(s, 95))),
        )
        .reset_index()
    )


def completeness(
    store: Store,
    start: datetime,
    end: datetime,
    by: Sequence[str],
    *,
    source: int = 1,
    strict: bool = False,
    **filters: str | None,
) -> pd.DataFrame:
    days = []
    t = pd.Timestamp(start)
    while t < pd.Timestamp(end):
        days.append(t)
        t = after(t, "day")
    m = store.installations.merge(store.meters, left_on="meter_id", right_on="id").merge(
        store.points, left_on="point_id", right_on="id", suffixes=("", "_p")
    )
    m = m.rename(columns={"tariff_plan": "plan"})
    for key in ("eic", "serial", "plan"):
        if filters.get(key) is not None:
            m = m[m[key] == filters[key]]
    for key in ("region", "address"):
        if filters.get(key) is not None:
            m = m[m[key].str.startswith(filters[key])]
    expected = []  # installation-days
    for day in days:
        day_end = after(day, "day")
        live = m[(m.installed_at < day_end) & (m.removed_at.isna() | (m.removed_at > day))]
        expected += [
            (day, region, meter) for region, meter in zip(live.region, live.meter_id, strict=True)
        ]
    r = store.readings[store.readings.source == source]
    if strict:
        r = r[r.quality.isin([0, 7, 17])]
    reported = set(zip(r.meter_id, bucket_of(r.read_at, "day"), strict=True))
    e = pd.DataFrame(sorted(expected), columns=["day", "region", "meter_id"])
    e["reporting"] = [(mid, d) in reported for d, mid in zip(e.day, e.meter_id, strict=True)]
    out = e.groupby(list(by)).agg(meters=("meter_id", "size"), reporting=("reporting", "sum"))
    out = out.reset_index()
    out["share"] = out.reporting / out.meters
    return out


def load_profile(u: pd.DataFrame) -> pd.DataFrame:
    per = u.groupby(["meter_id", "plan", "bucket"]).agg(
        known=("wh", "count"), rows=("wh", "size"), wh=("wh", lambda s: s.dropna().sum())
    )
    per = per[per.known == per.rows].reset_index()
    per["hour"] = per.bucket.dt.tz_convert(KYIV).dt.hour
    per["wh"] = per["wh"].astype("float64")
    return (
        per.groupby(["plan", "hour"])
        .agg(samples=("wh", "size"), mean_wh=("wh", "mean"))
        .reset_index()
    )


def top(
    store: Store, start: datetime, end: datetime, size: str, *, n: int, **filters: str | None
) -> pd.DataFrame:
    """Each meter's consumption over ``[start, end)`` taken as one bucket (looking
    one ``size`` bucket past the end), zones summed; largest first."""
    zones = selected(store, start, end, **filters)
    r = store.readings[store.readings.source == 1].merge(zones, on=["meter_id", "register"])
    r = r.sort_values("read_at")
    inside = r[(r.read_at >= pd.Timestamp(start)) & (r.read_at < pd.Timestamp(end))]
    beyond = r[(r.read_at >= pd.Timestamp(end)) & (r.read_at < after(end, size))]
    first = inside.groupby(["meter_id", "register"]).value_wh.first()
    last = inside.groupby(["meter_id", "register"]).value_wh.last()
    following = beyond.groupby(["meter_id", "register"]).value_wh.first()
    totals: dict[str, int | None] = {}
    known: dict[str, bool] = {}
    for (meter, register), v0 in first.items():
        z = zones[(zones.meter_id == meter) & (zones.register == register)].iloc[0]
        v1 = following.get((meter, register), last[(meter, register)])
        wh = advance(int(v1 - v0), int(z.rollover_wh))
        totals[z.serial] = (totals.get(z.serial) or 0) + (wh or 0)
        known[z.serial] = known.get(z.serial, True) and wh is not None
    out = pd.DataFrame(
        [(s, totals[s] if known[s] else None) for s in totals], columns=["serial", "wh"]
    )
    out["missing"] = out.wh.isna()
    out = out.sort_values(["missing", "wh", "serial"], ascending=[True, False, True])
    return out.head(n).reset_index(drop=True)
