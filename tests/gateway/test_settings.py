"""Settings: environment with the METERGATE_ prefix; a bad value is one clear line."""

import subprocess
import sys

import pytest

from gateway.settings import Settings, settings_or_exit


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("METERGATE_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("METERGATE_DATA_DIR", str(tmp_path))
    s = Settings()
    assert s.database_url == "postgresql://u@h/db"
    assert s.data_dir == tmp_path


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("METERGATE_DATABASE_URL", "mysql://x", "must be a postgresql:// URL"),
        ("METERGATE_DATABASE_URL", "host=x port", "not a PostgreSQL connection string"),
        ("METERGATE_POOL_MAX_SIZE", "zero", "Input should be a valid integer"),
        ("METERGATE_MQTT_URL", "http://x", "must start with mqtt://"),
    ],
)
def test_bad_setting_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stop:
        settings_or_exit()
    line = str(stop.value)
    assert line.startswith(f"bad setting {name}: ")
    assert message in line
    assert "\n" not in line


def test_cli_reports_a_bad_setting_and_exits_non_zero() -> None:
    env = {"METERGATE_DATABASE_URL": "mysql://nope", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "db", "status"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("bad setting METERGATE_DATABASE_URL")
