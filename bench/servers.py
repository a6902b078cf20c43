"""Which PostgreSQL server a benchmark uses (each creates and drops its own database)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psycopg

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    """METERGATE_DATABASE_URL when set, else the machine's PostgreSQL at
    127.0.0.1:5432 if it answers, else the embedded one."""
    if url := os.environ.get("METERGATE_DATABASE_URL"):
        return url
    try:
        with psycopg.connect(LOCAL, connect_timeout=2):
            return LOCAL
    except psycopg.Error:
        from ingest.embedded import embedded_database_url

        return embedded_database_url(Path(tempfile.gettempdir()) / "metergate-bench-embedded")
