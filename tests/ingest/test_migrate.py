"""Migrations: applied in order, recorded with checksums, idempotent, edits refused."""

import psycopg
import pytest

from ingest import migrate as migrate_module
from ingest.errors import MigrationError
from ingest.migrate import Migration, migrate, migrations_for, status


def test_migrate_twice_is_a_no_op(fresh_db: str) -> None:
    first = migrate(fresh_db)
    assert [m.version for m in first] == [m.version for m in migrations_for("postgresql")]
    assert migrate(fresh_db) == []
    info = status(fresh_db)
    assert info.backend == "postgresql"
    assert info.backend_line.startswith("postgresql ")
    assert [a.version for a in info.applied] == [m.version for m in first]


def test_edited_applied_migration_is_an_error(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate(fresh_db)
    original = migrations_for("postgresql")
    edited = [
        Migration(version=m.version, name=m.name, sql=m.sql + "\n-- edited\n") if i == 0 else m
        for i, m in enumerate(original)
    ]
    monkeypatch.setattr(migrate_module, "migrations_for", lambda backend: edited)
    with pytest.raises(MigrationError, match="edited after it was applied"):
        migrate(fresh_db)


def test_store_cannot_switch_backend(fresh_db: str) -> None:
    migrate(fresh_db, backend="postgresql")
    with pytest.raises(MigrationError, match="cannot switch"):
        migrate(fresh_db, backend="timescaledb")


def test_failed_migration_leaves_nothing_half_applied(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = migrations_for("postgresql")
    broken = [
        *good,
        Migration(version="9999", name="broken", sql="CREATE TABLE x (a int); SELECT 1/0;"),
    ]
    monkeypatch.setattr(migrate_module, "migrations_for", lambda backend: broken)
    with pytest.raises(psycopg.errors.DivisionByZero):
        migrate(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT to_regclass('x')").fetchone() == (None,)
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert "9999" not in versions
    assert len(versions) == len(good)


def test_every_version_exists_for_both_backends() -> None:
    assert [m.version for m in migrations_for("postgresql")] == [
        m.version for m in migrations_for("timescaledb")
    ]
