"""Schema migrations: plain SQL files applied in order and recorded with checksums.

A file is ``NNNN_name.sql`` (both backends) or ``NNNN_name.<backend>.sql`` (only
``postgresql`` or only ``timescaledb``; each version exists for both or as one
common file). Applied migrations are recorded in ``schema_migrations`` with the
SHA-256 of the file used; re-running is a no-op, and an applied file that was
edited afterwards is an error. The backend is chosen once, when the store is
first migrated: TimescaleDB when ``CREATE EXTENSION timescaledb`` works,
plain PostgreSQL otherwise.

A file whose first line is ``-- metergate: no-transaction`` runs statement by
statement outside a transaction (TimescaleDB refuses to create continuous
aggregates inside one); its statements end with ``;`` at the end of a line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import psycopg

from ingest.errors import MigrationError

Backend = Literal["postgresql", "timescaledb"]
BackendChoice = Literal["auto", "postgresql", "timescaledb"]

_FILE = re.compile(
    r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<backend>postgresql|timescaledb))?\.sql$"
)
_NO_TX = "-- metergate: no-transaction"
_LOCK_KEY = 0x6D657465  # "mete": one migrator at a time


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class AppliedMigration:
    version: str
    name: str
    checksum: str
    applied_at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreStatus:
    backend: Backend
    server_version: str
    extension_version: str | None
    applied: tuple[AppliedMigration, ...]

    @property
    def backend_line(self) -> str:
        """``timescaledb 2.28.0`` or ``postgresql 15.20``: what ``db status`` prints first."""
        if self.backend == "timescaledb":
            return f"timescaledb {self.extension_version} (on postgresql {self.server_version})"
        return f"postgresql {self.server_version}"


def migrations_for(backend: Backend) -> list[Migration]:
    """The migrations this package ships, in order, with the file chosen per backend."""
    chosen: dict[str, Migration] = {}
    for entry in resources.files("ingest.migrations").iterdir():
        match = _FILE.match(entry.name)
        if match is None:
            continue
        if match["backend"] not in (None, backend):
            continue
        version = match["version"]
        if version in chosen:
            raise MigrationError(f"two migrations with version {version} for {backend}")
        chosen[version] = Migration(version=version, name=match["name"], sql=entry.read_text())
    return [chosen[v] for v in sorted(chosen)]


def _bootstrap(conn: psycopg.Connection) -> None:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version    text PRIMARY KEY,
               name       text NOT NULL,
               checksum   text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    conn.execute(
        """CREATE TABLE IF NOT EXISTS store_backend (
               one     boolean PRIMARY KEY DEFAULT true CHECK (one),
               backend text NOT NULL CHECK (backend IN ('postgresql', 'timescaledb')))"""
    )


def _timescaledb_works(conn: psycopg.Connection) -> bool:
    """True when the extension can be created here.

    It must be installed and preloaded (``shared_preload_libraries``); without
    the preload, CREATE EXTENSION ends the session with FATAL, so the attempt
    runs on a throwaway connection.
    """
    row = conn.execute(
        "SELECT current_setting('shared_preload_libraries'),"
        " EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')"
    ).fetchone()
    if row is None or not row[1] or "timescaledb" not in row[0]:
        return False
    try:
        with psycopg.connect(conn.info.dsn, autocommit=True) as probe:
            probe.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error:
        return False
    return True


def _choose_backend(conn: psycopg.Connection, choice: BackendChoice) -> Backend:
    row = conn.execute("SELECT backend FROM store_backend").fetchone()
    if row is not None:
        recorded: Backend = row[0]
        if choice not in ("auto", recorded):
            raise MigrationError(f"this store was created on {recorded}; cannot switch to {choice}")
        if recorded == "timescaledb":
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        return recorded
    if choice == "postgresql":
        backend: Backend = "postgresql"
    elif _timescaledb_works(conn):
        backend = "timescaledb"
    elif choice == "timescaledb":
        raise MigrationError(
            "TimescaleDB was asked for but CREATE EXTENSION timescaledb fails here"
        )
    else:
        backend = "postgresql"
    conn.execute("INSERT INTO store_backend (backend) VALUES (%s)", (backend,))
    return backend


def _statements(sql: str) -> list[str]:
    """Split a no-transaction file into statements (``;`` ends a line)."""
    parts, current = [], []
    for line in sql.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            parts.append("\n".join(current))
            current = []
    tail = "\n".join(current).strip()
    if tail and not all(ln.strip().startswith("--") for ln in tail.splitlines() if ln.strip()):
        parts.append(tail)
    return parts


def _apply(conn: psycopg.Connection, migration: Migration) -> None:
    record = "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)"
    args = (migration.version, migration.name, migration.checksum)
    if migration.sql.lstrip().startswith(_NO_TX):
        for statement in _statements(migration.sql):
            conn.execute(statement.encode())
        conn.execute(record, args)
        return
    with conn.transaction():
        conn.execute(migration.sql.encode())
        conn.execute(record, args)


def migrate(conninfo: str, *, backend: BackendChoice = "auto") -> list[Migration]:
    """Apply what is missing; return the migrations applied now (empty: nothing to do)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            _bootstrap(conn)
            chosen = _choose_backend(conn, backend)
            applied = {
                version: checksum
                for version, checksum in conn.execute(
                    "SELECT version, checksum FROM schema_migrations"
                ).fetchall()
            }
            done = []
            for migration in migrations_for(chosen):
                if migration.version in applied:
                    if applied[migration.version] != migration.checksum:
                        raise MigrationError(
                            f"migration {migration.version}_{migration.name} was edited after it "
                            "was applied; add a new migration instead"
                        )
                    continue
                _apply(conn, migration)
                done.append(migration)
            return done
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def status(conninfo: str) -> StoreStatus:
    """The backend in use and the migrations applied so far."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        server = conn.execute("SHOW server_version").fetchone()
        ext = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
        has_tables = conn.execute("SELECT to_regclass('store_backend') IS NOT NULL").fetchone()
        backend: Backend = "postgresql"
        applied: tuple[AppliedMigration, ...] = ()
        if has_tables and has_tables[0]:
            row = conn.execute("SELECT backend FROM store_backend").fetchone()
            backend = row[0] if row else ("timescaledb" if ext else "postgresql")
            applied = tuple(
                AppliedMigration(version=v, name=n, checksum=c, applied_at=str(a))
                for v, n, c, a in conn.execute(
                    "SELECT version, name, checksum, applied_at"
                    " FROM schema_migrations ORDER BY version"
                ).fetchall()
            )
        return StoreStatus(
            backend=backend,
            server_version=str(server[0]).split()[0] if server else "?",
            extension_version=ext[0] if ext else None,
            applied=applied,
        )
