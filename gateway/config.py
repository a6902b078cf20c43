"""The gateway's TOML configuration: buses, devices, profiles, broker, topics.

Tables map one to one onto the drivers' own configuration dataclasses, which
check themselves; a mistake anywhere stops with ``ConfigError`` naming the file,
the entry and the field, e.g.
``gateway.toml: modbus.buses[0] (bus-a).devices[3]: unknown profile 'sdm63'``.
See docs/gateway.md for every key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from drivers.errors import DriverError
from drivers.modbus import PROFILES, BusConfig, DeviceConfig
from drivers.mqtt import MqttConfig, TlsConfig, TopicRoute
from drivers.registry import DRIVERS
from gateway.pipeline import PipelineConfig

T = TypeVar("T")

_SECTIONS = {"pipeline", "spool", "http", "rollups", "reconcile", *DRIVERS}
"""Top-level tables: the process's own, plus one per driver kind."""


class ConfigError(Exception):
    """The configuration file is wrong; the message names where."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusBusEntry:
    bus: BusConfig
    devices: tuple[DeviceConfig, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayConfig:
    source: Path
    pipeline: PipelineConfig
    mqtt: MqttConfig | None
    modbus: tuple[ModbusBusEntry, ...]
    spool_path: Path | None
    """None: ``<data dir>/spool.sqlite``."""
    http_listen: tuple[str, int] | None
    """Where /metrics and /health are served; None: not served."""
    rollup_refresh_s: float
    reconcile_interval_s: float | None

    def for_worker(self, index: int) -> GatewayConfig:
        """The same configuration for worker ``index`` of several sharing one stream:
        its own MQTT client id (same share group), spool file and HTTP port."""
        mqtt = (
            dataclasses.replace(self.mqtt, client_id=f"{self.mqtt.client_id}-w{index}")
            if self.mqtt
            else None
        )
        spool = (
            self.spool_path.with_name(f"{self.spool_path.stem}-w{index}.sqlite")
            if self.spool_path
            else None
        )
        listen = (self.http_listen[0], self.http_listen[1] + index) if self.http_listen else None
        # Modbus buses have one owner: only worker 0 polls them.
        modbus = self.modbus if index == 0 else ()
        return dataclasses.replace(
            self, mqtt=mqtt, spool_path=spool, http_listen=listen, modbus=modbus
        )


def _build(cls: type[T], table: Mapping[str, Any], where: str, **extra: Any) -> T:
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}")
    try:
        return cls(**table, **extra)
    except TypeError as exc:  # a required field missing
        raise ConfigError(f"{where}: {exc}") from None
    except (DriverError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _table(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}{key}: must be a table")
    return dict(value)


def _array(data: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{where}{key}: must be an array of tables ([[{key}]])")
    return [dict(v) for v in value]


def _mqtt(table: dict[str, Any], where: str, default_url: str | None) -> MqttConfig | None:
    if not table:
        return None
    routes = []
    for i, route in enumerate(_array(table, "routes", f"{where}mqtt.")):
        if "fields" in route:
            route["fields"] = tuple((str(k), int(v)) for k, v in dict(route["fields"]).items())
        routes.append(_build(TopicRoute, route, f"{where}mqtt.routes[{i}]"))
    table.pop("routes", None)
    tls = table.pop("tls", None)
    extra: dict[str, Any] = {"routes": tuple(routes)}
    if tls is not None:
        tls = {k: Path(v) if k.endswith("_file") else v for k, v in dict(tls).items()}
        extra["tls"] = _build(TlsConfig, tls, f"{where}mqtt.tls")
    if env := table.pop("password_env", None):
        if env not in os.environ:
            raise ConfigError(f"{where}mqtt.password_env: environment variable {env} is not set")
        extra["password"] = os.environ[env]
    url = table.pop("url", None) or default_url
    if url is None and "host" not in table:
        raise ConfigError(f"{where}mqtt: give url or host (or set METERGATE_MQTT_URL)")
    if url is not None:
        try:
            return MqttConfig.from_url(url, **table, **extra)
        except (DriverError, ValueError, TypeError) as exc:
            raise ConfigError(f"{where}mqtt: {exc}") from None
    return _build(MqttConfig, table, f"{where}mqtt", **extra)


def _modbus(table: dict[str, Any], where: str) -> tuple[ModbusBusEntry, ...]:
    entries = []
    names = set()
    for i, bus_table in enumerate(_array(table, "buses", f"{where}modbus.")):
        devices_table = bus_table.pop("devices", [])
        label = f"{where}modbus.buses[{i}]" + (
            f" ({bus_table['name']})" if "name" in bus_table else ""
        )
        bus = _build(BusConfig, bus_table, label)
        if bus.name in names:
            raise ConfigError(f"{label}: bus name {bus.name!r} is used twice")
        names.add(bus.name)
        devices = []
        for j, dev in enumerate(_array({"devices": devices_table}, "devices", f"{label}.")):
            dev_where = f"{label}.devices[{j}]"
            if dev.get("profile") not in PROFILES:
                raise ConfigError(
                    f"{dev_where}: unknown profile {dev.get('profile')!r}"
                    f" (known: {', '.join(sorted(PROFILES))})"
                )
            devices.append(_build(DeviceConfig, dev, dev_where))
        entries.append(ModbusBusEntry(bus=bus, devices=tuple(devices)))
    return tuple(entries)


def load_config(path: Path, *, default_mqtt_url: str | None = None) -> GatewayConfig:
    """Read and check a gateway configuration file."""
    where = f"{path}: "
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise ConfigError(f"{where}unknown section [{unknown[0]}]")
    pipeline = _build(PipelineConfig, _table(data, "pipeline", where), f"{where}pipeline")
    spool = _table(data, "spool", where)
    http = _table(data, "http", where)
    listen = None
    if "listen" in http:
        host, _, port = str(http["listen"]).rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"{where}http.listen: expected host:port, got {http['listen']!r}")
        listen = (host, int(port))
    rollups = _table(data, "rollups", where)
    reconcile = _table(data, "reconcile", where)
    config = GatewayConfig(
        source=path,
        pipeline=pipeline,
        mqtt=_mqtt(_table(data, "mqtt", where), where, default_mqtt_url),
        modbus=_modbus(_table(data, "modbus", where), where),
        spool_path=(path.parent / spool["path"]) if "path" in spool else None,
        http_listen=listen,
        rollup_refresh_s=float(rollups.get("refresh_interval_s", 300)),
        reconcile_interval_s=float(reconcile["interval_s"]) if "interval_s" in reconcile else None,
    )
    if config.mqtt is None and not config.modbus:
        raise ConfigError(f"{where}nothing to do: configure [mqtt] or [[modbus.buses]]")
    return config
