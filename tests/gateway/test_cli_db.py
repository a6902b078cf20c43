"""``metergate db …`` against a real database."""

import os
import subprocess
import sys

import psycopg

from ingest.migrate import migrations_for


def _metergate(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, METERGATE_DATABASE_URL=url)
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_migrate_status_seed(fresh_db: str) -> None:
    first = _metergate(fresh_db, "db", "migrate", "--backend", "postgresql")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0].startswith("backend: postgresql ")
    assert "applied 0001_domain" in first.stdout
    again = _metergate(fresh_db, "db", "migrate")
    assert again.stdout.splitlines()[-1] == "up to date"
    status = _metergate(fresh_db, "db", "status")
    lines = status.stdout.splitlines()
    assert lines[0].startswith("postgresql ")
    shipped = [f"{m.version}_{m.name}" for m in migrations_for("postgresql")]
    assert [line.split()[0] for line in lines[1:]] == shipped
    seeded = _metergate(fresh_db, "db", "seed", "--meters", "5", "--days", "1")
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.startswith("seeded 5 meters, ")
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM meters").fetchone() == (5,)
