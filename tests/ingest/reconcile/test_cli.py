"""``metergate reconcile run|close`` and ``metergate import controller`` end to end."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from drivers.domain import Source
from tests.ingest.reconcile.conftest import Site, kyiv


def _metergate(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, METERGATE_DATABASE_URL=url)
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


# The command line adds nothing backend-specific: once, on plain PostgreSQL.
@pytest.mark.parametrize("migrated_url", ["postgresql"], indirect=True)
def test_run_import_and_close_from_the_command_line(site: Site, tmp_path: Path) -> None:
    p = site.point(60)
    site.reads(p.meter_id, 0, [(kyiv(2026, 4, 30, 12), 10_000_000)], source=Source.CONSUMER)
    csv = tmp_path / "round.csv"
    csv.write_text(
        "eic,meter,read_at,register,value_kwh,controller\n"
        f"{p.eic},{p.serial},2026-05-31T12:00:00+03:00,0,10300,Koval\n"
        f"{p.eic},{p.serial},2026-05-31T13:00:00+03:00,0,9000,Koval\n"
    )
    imported = _metergate(site.url, "import", "controller", str(csv))
    assert imported.returncode == 1  # one row rejected, the other stored
    assert imported.stdout.strip() == "2 rows: 1 stored, 0 already stored, 1 rejected"
    assert f"{csv}:3: below the reading" in imported.stderr

    ran = _metergate(site.url, "reconcile", "run", "--period", "2026-05", "--point", p.eic)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert (summary["mode"], summary["periods"], summary["versions"]) == ("point", ["2026-05"], 1)
    row = site.results(date(2026, 5, 1))[(p.eic, 0)]
    # 300 kWh in the 732 hours since the opening, carried 12 more hours to the cut-off.
    assert (row["source"], row["consumption_wh"]) == ("controller", 300_000 + 300_000 * 12 // 732)

    closed = _metergate(site.url, "reconcile", "close", "--period", "2026-05", "--actor", "ops")
    assert closed.returncode == 0, closed.stderr
    assert json.loads(closed.stdout)["mode"] == "close"
    assert site.execute("SELECT status, closed_by FROM billing_periods") == [("closed", "ops")]
