"""``metergate api`` migrates the store, then serves the API with uvicorn."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import psycopg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_api_command_migrates_and_serves(fresh_db: str) -> None:
    port = _free_port()
    env = {**os.environ, "METERGATE_DATABASE_URL": fresh_db, "METERGATE_COOKIE_SECURE": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "api", "--port", str(port), "--dev-smtp"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/services", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.2)
        assert r.status_code == 200
        assert r.json() == []
        with psycopg.connect(fresh_db) as conn:
            versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations")]
        assert "0005" in versions
        body = {"email": "demo@example.com", "accept_terms": True, "accept_data_processing": True}
        r = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/register", json=body, timeout=10)
        assert r.status_code == 202, r.text
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    assert "#token=" in output  # --dev-smtp prints the mail with its link
    assert process.returncode == 0, output
