"""``metergate api`` migrates the store, then serves the API with uvicorn."""

from __future__ import annotations

import httpx
import psycopg

from tests.portal.live_api import live_api


def test_api_command_migrates_and_serves(fresh_db: str) -> None:
    env = {"METERGATE_DATABASE_URL": fresh_db, "METERGATE_COOKIE_SECURE": "false"}
    with live_api(env, "--dev-smtp") as live:
        r = httpx.get(f"{live.base_url}/api/v1/services", timeout=5)
        assert r.status_code == 200
        assert r.json() == []
        with psycopg.connect(fresh_db) as conn:
            versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations")]
        assert "0005" in versions
        body = {"email": "demo@example.com", "accept_terms": True, "accept_data_processing": True}
        r = httpx.post(f"{live.base_url}/api/v1/auth/register", json=body, timeout=10)
        assert r.status_code == 202, r.text
    output = live.output
    assert "#token=" in output  # --dev-smtp prints the mail with its link
    assert live.process.returncode == 0, output
    assert '"GET /api/v1/services HTTP/1.1" 200' in output  # the access log, on by default


def test_api_workers_without_access_log(fresh_db: str) -> None:
    env = {"METERGATE_DATABASE_URL": fresh_db}
    with live_api(env, "--workers", "2", "--no-access-log") as live:
        for _ in range(4):  # over both workers
            with httpx.Client(base_url=live.base_url) as client:
                assert client.get("/api/v1/services").status_code == 200
    assert live.process.returncode == 0, live.output
    assert "Application startup complete" in live.output  # the workers' log is here
    assert "GET /api/v1/services" not in live.output
