"""``metergate demo --for``: the whole chain starts, moves readings, stops, summarizes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg


def test_demo_runs_the_chain_and_prints_a_summary(fresh_db: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "METERGATE_MQTT_URL"}
    env |= {"METERGATE_DATABASE_URL": fresh_db, "METERGATE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "demo",
            "--for",
            "8",
            "--fleet",
            "40",
            "--api-port",
            "0",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["demo"] == "metergate"
    assert summary["meters_registered"] == 40 + 2 * 12
    assert summary["written"] > 0
    assert summary["spool_batches"] == 0
    assert "readings/s" in done.stderr
    with psycopg.connect(fresh_db) as conn:
        live = conn.execute("SELECT count(*) FROM readings WHERE origin <> 'seed'").fetchone()
        modbus = conn.execute(
            "SELECT count(*) FROM readings WHERE origin LIKE 'modbus://%%'"
        ).fetchone()
    assert live is not None
    assert live[0] == summary["written"]
    assert modbus is not None
    assert modbus[0] > 0
