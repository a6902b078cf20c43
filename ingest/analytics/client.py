"""The analysts' pandas client: the analytics queries as DataFrames.

``Analytics(conninfo)`` talks to the store directly (a read replica will do).
Times in and out are Kyiv local: naive arguments are read as Europe/Kyiv, and
time-indexed frames carry a tz-aware Europe/Kyiv ``DatetimeIndex``. Energy
columns are kWh (``kwh``, ``sum_kwh``, ``mean_kwh`` …), converted from the
store's integer Wh only here. See docs/analysts.md for worked examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeAlias, TypedDict, Unpack

import pandas as pd
import psycopg

from drivers.domain import KYIV, Plan, Source
from ingest.analytics.aggregates import Dimension as AggregateBy
from ingest.analytics.aggregates import aggregates
from ingest.analytics.buckets import BucketSize
from ingest.analytics.completeness import Dimension as CompletenessBy
from ingest.analytics.completeness import completeness
from ingest.analytics.profile import load_profile
from ingest.analytics.query import Query, fetch_sync
from ingest.analytics.selection import Selection
from ingest.analytics.series import series
from ingest.analytics.top import top_consumers
from ingest.analytics.usage import Period
from ingest.migrate import Backend

TimeLike: TypeAlias = datetime | pd.Timestamp | str


class Filters(TypedDict, total=False):
    """Meter filters (see ``Selection``); plan and source also take their names."""

    eic: str
    serial: str
    region: str
    address: str
    plan: Plan | str
    zone: str
    source: Source | str


def selection(filters: Filters) -> Selection:
    """A ``Selection`` from keyword filters."""
    values: dict[str, Any] = dict(filters)
    if "plan" in values:
        values["plan"] = Plan(values["plan"])
    if "source" in values:
        values["source"] = Source(values["source"])
    return Selection(**values)


def local_time(value: TimeLike) -> datetime:
    """An aware datetime; naive values (and strings without an offset) are Kyiv local."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(KYIV, ambiguous="raise", nonexistent="raise")
    result: datetime = stamp.to_pydatetime()
    return result


def to_frame(query: Query, rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows as a DataFrame: kWh energy columns, Kyiv-local timestamps."""
    raw = pd.DataFrame.from_records(list(rows), columns=list(query.names))
    data: dict[str, Any] = {}
    for column in query.columns:
        values = raw[column.name]
        if column.kind in ("time", "date"):
            data[column.edge_name] = pd.to_datetime(values, utc=True).dt.tz_convert(KYIV)
        elif column.is_energy:
            data[column.edge_name] = values.astype("float64") / 1000
        elif column.kind == "int":
            data[column.edge_name] = values.astype("Int64")
        elif column.kind == "float":
            data[column.edge_name] = values.astype("float64")
        else:
            data[column.edge_name] = values.astype("string")
    return pd.DataFrame(data)


def _indexed(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.set_index(column) if column in frame.columns else frame


class Analytics:
    """Analytics queries on the store at ``conninfo``, answered as DataFrames.

    ``rollups=False`` computes everything from raw readings (slow; for checks).
    ``statement_timeout``: the server cancels a query running longer
    (``psycopg.errors.QueryCanceled``); none by default.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        rollups: bool = True,
        statement_timeout: timedelta | None = None,
    ) -> None:
        self.conninfo = conninfo
        self.rollups = rollups
        self.statement_timeout = statement_timeout
        self._backend: Backend | None = None

    @property
    def backend(self) -> Backend:
        """The store's backend (asked once)."""
        if self._backend is None:
            with psycopg.connect(self.conninfo) as conn:
                row = conn.execute("SELECT backend FROM store_backend").fetchone()
            if row is None:
                raise LookupError("store_backend is empty: is the database migrated?")
            self._backend = row[0]
        return self._backend

    def run(self, query: Query) -> pd.DataFrame:
        """Any built query as a DataFrame (``query.table`` says what it read)."""
        with psycopg.connect(self.conninfo) as conn:
            rows = fetch_sync(conn, query, statement_timeout=self.statement_timeout)
        return to_frame(query, rows)

    def series(
        self, start: TimeLike, end: TimeLike, bucket: BucketSize = "day", **filters: Unpack[Filters]
    ) -> pd.DataFrame:
        """Consumption per meter, zone and bucket, indexed by bucket start."""
        period = Period.covering(local_time(start), local_time(end), bucket)
        query = series(selection(filters), period, self.backend, rollups=self.rollups)
        return _indexed(self.run(query), "interval_start")

    def aggregates(
        self,
        start: TimeLike,
        end: TimeLike,
        bucket: BucketSize = "month",
        *,
        by: Sequence[AggregateBy] = ("zone",),
        **filters: Unpack[Filters],
    ) -> pd.DataFrame:
        """Meters, sum, mean, p50 and p95 per bucket and ``by`` group, indexed by bucket start."""
        period = Period.covering(local_time(start), local_time(end), bucket)
        query = aggregates(selection(filters), period, self.backend, by=by, rollups=self.rollups)
        return _indexed(self.run(query), "interval_start")

    def completeness(
        self,
        start: TimeLike,
        end: TimeLike,
        *,
        by: Sequence[CompletenessBy] = ("day", "region"),
        strict: bool = False,
        **filters: Unpack[Filters],
    ) -> pd.DataFrame:
        """Meters expected and reporting per local day and/or region, indexed by day."""
        query = completeness(
            selection(filters), local_time(start), local_time(end), self.backend,
            by=by, rollups=self.rollups, strict=strict,
        )  # fmt: skip
        return _indexed(self.run(query), "day")

    def top_consumers(
        self, start: TimeLike, end: TimeLike, n: int = 100, **filters: Unpack[Filters]
    ) -> pd.DataFrame:
        """The ``n`` largest consumers in ``[start, end)``, indexed by rank."""
        query = top_consumers(
            selection(filters), local_time(start), local_time(end), self.backend,
            n=n, rollups=self.rollups,
        )  # fmt: skip
        return _indexed(self.run(query), "rank")

    def load_profile(
        self, start: TimeLike, end: TimeLike, *, wide: bool = True, **filters: Unpack[Filters]
    ) -> pd.DataFrame:
        """Mean kWh per local hour of day (0..23) and plan: one column per plan
        (``wide``), or long rows with the number of samples."""
        query = load_profile(selection(filters), local_time(start), local_time(end), self.backend)
        frame = self.run(query)
        return frame.pivot(index="hour", columns="plan", values="mean_kwh") if wide else frame
