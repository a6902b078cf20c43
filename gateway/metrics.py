"""Prometheus metrics of the gateway, in one registry per process.

Counters per path (``source``: mqtt, modbus, spool) and driver kind; a batch
latency histogram (from the first delivery of a batch to its commit or spool);
the spool's depth; per-device Modbus figures read from the drivers when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceFigures:
    """What a driver reports of one device for the scrape."""

    bus: str
    unit: int
    requests: int
    errors: int
    last_success_unix: float | None


class _DeviceCollector(Collector):
    def __init__(self, sources: list[Callable[[], Iterable[DeviceFigures]]]) -> None:
        self._sources = sources

    def collect(self) -> Iterable[Metric]:
        requests = GaugeMetricFamily(
            "metergate_modbus_device_requests",
            "Modbus requests sent to a device",
            labels=["bus", "unit"],
        )
        errors = GaugeMetricFamily(
            "metergate_modbus_device_errors", "Modbus requests that failed", labels=["bus", "unit"]
        )
        last = GaugeMetricFamily(
            "metergate_modbus_device_last_success_seconds",
            "Unix time of the device's last good poll",
            labels=["bus", "unit"],
        )
        for source in self._sources:
            for d in source():
                labels = [d.bus, str(d.unit)]
                requests.add_metric(labels, d.requests)
                errors.add_metric(labels, d.errors)
                if d.last_success_unix is not None:
                    last.add_metric(labels, d.last_success_unix)
        yield requests
        yield errors
        yield last


@dataclass
class Metrics:
    """The gateway's metrics; ``registry`` is what /metrics serves."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    device_sources: list[Callable[[], Iterable[DeviceFigures]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        r = self.registry
        labels = ["source"]
        self.received = Counter(
            "metergate_readings_received", "Readings received", labels, registry=r
        )
        self.written = Counter(
            "metergate_readings_written", "Readings committed to the store", labels, registry=r
        )
        self.duplicates = Counter(
            "metergate_readings_duplicate", "Readings already stored", labels, registry=r
        )
        self.rejected = Counter(
            "metergate_readings_rejected", "Readings rejected to dead letters", labels, registry=r
        )
        self.dead_letters = Counter(
            "metergate_dead_letters", "Inputs that became dead letters", labels, registry=r
        )
        self.spooled = Counter(
            "metergate_readings_spooled", "Readings written to the disk spool", registry=r
        )
        self.batch_seconds = Histogram(
            "metergate_batch_seconds",
            "From a batch's first delivery to its commit or spool",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.spool_batches = Gauge(
            "metergate_spool_batches", "Batches waiting in the spool", registry=r
        )
        self.spool_readings = Gauge(
            "metergate_spool_readings", "Readings waiting in the spool", registry=r
        )
        self.store_up = Gauge(
            "metergate_store_up", "1 while the database accepts writes", registry=r
        )
        r.register(_DeviceCollector(self.device_sources))
