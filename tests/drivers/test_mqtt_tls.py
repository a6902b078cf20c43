"""MqttDriver over TLS: a private Mosquitto with a TLS listener and a throwaway CA."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from drivers.mqtt import MqttConfig, MqttConnectError, MqttDriver, TlsConfig
from simulators.broker import free_port
from tests.drivers.test_mqtt_driver import collect, message, publisher, reading_route


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca_and_server_cert(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (PEM files)."""
    days = ("-days", "2")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        *days,
        "-subj",
        "/CN=test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        cwd=directory,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=directory,
    )
    (directory / "san.ext").write_text("subjectAltName = IP:127.0.0.1\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        *days,
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
        cwd=directory,
    )
    return directory / "ca.crt", directory / "server.crt", directory / "server.key"


@pytest.fixture
async def tls_broker(private_broker: Any, tmp_path: Path) -> Any:
    if not shutil.which("mosquitto") or not shutil.which("openssl"):
        pytest.skip("TLS test needs the mosquitto and openssl binaries")
    ca, cert, key = make_ca_and_server_cert(tmp_path)
    tls_port = free_port()
    broker = await private_broker(
        extra_config=f"listener {tls_port} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
    )
    broker.tls_port = tls_port
    broker.ca = ca
    return broker


async def test_readings_arrive_over_tls(tls_broker: Any, mqtt_names: Callable[[str], str]) -> None:
    prefix = mqtt_names("tls")
    cfg = MqttConfig(
        host="127.0.0.1",
        port=tls_broker.tls_port,
        client_id=mqtt_names("tls-sub"),
        routes=reading_route(prefix),
        tls=TlsConfig(ca_file=tls_broker.ca),
        reconnect_min=0.1,
        reconnect_max=0.5,
    )
    async with MqttDriver(cfg) as driver:
        async with publisher(tls_broker) as pub:  # publishes on the plain listener
            for n in range(5):
                await pub.publish(f"{prefix}/TLS1/reading", message("TLS1", n))
        got = await collect(driver, lambda ds: len(ds) >= 5)
    assert sorted(d.readings[0].value_wh for d in got) == [0, 1, 2, 3, 4]


async def test_untrusted_server_certificate_is_refused(
    tls_broker: Any, mqtt_names: Callable[[str], str], tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    other_ca, _, _ = make_ca_and_server_cert(other)
    cfg = MqttConfig(
        host="127.0.0.1",
        port=tls_broker.tls_port,
        client_id=mqtt_names("tls-bad"),
        routes=reading_route(mqtt_names("tls-bad")),
        tls=TlsConfig(ca_file=other_ca),
        connect_timeout=3.0,
    )
    with pytest.raises(MqttConnectError):
        async with MqttDriver(cfg):
            pass
