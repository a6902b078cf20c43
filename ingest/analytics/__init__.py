"""Analyst time series over the store: series, aggregates, completeness, top
consumers, load profile; CSV/Parquet streaming; a pandas client.

Each query module builds a ``Query`` (SQL for the store's backend, parameters,
typed columns, and which table answers it) without I/O; the API runs it on its
async pool, the pandas client on a plain connection. See docs/analysts.md.
"""

from ingest.analytics.aggregates import aggregates
from ingest.analytics.buckets import BUCKET_SIZES, BucketSize
from ingest.analytics.client import Analytics
from ingest.analytics.completeness import completeness
from ingest.analytics.profile import load_profile
from ingest.analytics.query import Column, Query, fetch, fetch_sync, stream
from ingest.analytics.selection import Selection
from ingest.analytics.series import series
from ingest.analytics.top import top_consumers
from ingest.analytics.usage import Period

__all__ = [
    "BUCKET_SIZES",
    "Analytics",
    "BucketSize",
    "Column",
    "Period",
    "Query",
    "Selection",
    "aggregates",
    "completeness",
    "fetch",
    "fetch_sync",
    "load_profile",
    "series",
    "stream",
    "top_consumers",
]
