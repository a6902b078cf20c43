"""Gateway configuration: a mistake names the file, the entry and the field."""

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config

GOOD = """
[pipeline]
batch_size = 1000

[mqtt]
url = "mqtt://127.0.0.1:1883"
client_id = "gw-1"
share_group = "metergate"

[[mqtt.routes]]
topic_filter = "metergate/+/readings"
payload_format = "metergate"

[[modbus.buses]]
name = "bus-a"
transport = "tcp"
host = "127.0.0.1"
port = 5020

[[modbus.buses.devices]]
unit_id = 1
profile = "sdm630"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def test_good_config_loads(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD))
    assert config.pipeline.batch_size == 1000
    assert config.mqtt is not None
    assert config.mqtt.client_id == "gw-1"
    assert config.modbus[0].bus.name == "bus-a"
    assert config.modbus[0].devices[0].profile == "sdm630"
    worker = config.for_worker(2)
    assert worker.mqtt is not None
    assert worker.mqtt.client_id == "gw-1-w2"
    assert worker.modbus == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('profile = "sdm630"', 'profile = "sdm63"'),
            "modbus.buses[0] (bus-a).devices[0]: unknown profile 'sdm63'",
        ),
        (
            ("unit_id = 1", "unit_id = 300"),
            "modbus.buses[0] (bus-a).devices[0]: unit_id must be 1..247",
        ),
        (
            ("port = 5020", "port = 5020\nspeed = 9"),
            "modbus.buses[0] (bus-a): unknown field 'speed'",
        ),
        (
            ('payload_format = "metergate"', 'payload_format = "xml"'),
            "mqtt.routes[0]: unknown payload format 'xml'",
        ),
        (
            ("batch_size = 1000", "batch_size = 0"),
            "pipeline: batch_size and queue_size must be positive",
        ),
        (
            ('client_id = "gw-1"', 'client_id = "gw-1"\nprotocol = "3.1.1"'),
            "mqtt: shared subscriptions need MQTT v5",
        ),
        (("[pipeline]", "[pipelines]"), "unknown section [pipelines]"),
        (("[pipeline]", "[pipeline"), "not valid TOML"),
    ],
)
def test_mistakes_name_file_entry_and_field(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = _write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_reconcile_interval_is_read(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, GOOD + "\n[reconcile]\ninterval_s = 120\n"))
    assert config.reconcile_interval_s == 120
