"""Modbus benchmark: simulated meters on several TCP buses, polled through ``ModbusDriver``.

240 meters on 4 buses (60 unit ids each), served by the simulator in a child
process (so server and driver each get a core), clock x60. Profile mix per bus:
three generic multi-tariff meters (``mt32``: 10 counters in one planned read) to
one Eastron SDM630 (2 float32 totals in one read). One warm-up cycle reads the
serial numbers; then every bus polls all its meters per cycle, buses in parallel.

Prints one JSON line. ``requests_per_poll`` is measured (driver request counters
over the timed cycles); ``naive_requests_per_poll`` is one request per profile
register (per value, not per 16-bit word); ``requests_ratio`` is their quotient.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection

from drivers.modbus import PROFILES, BusConfig, DeviceConfig, ModbusDriver
from simulators.modbus import ModbusSimulator, SimulatorConfig

MIX = ("mt32", "mt32", "mt32", "sdm630")


def _sim_configs(buses: int, per_bus: int) -> list[SimulatorConfig]:
    return [
        SimulatorConfig(meters=per_bus, profiles=MIX, seed=100 + b, accelerate=60.0)
        for b in range(buses)
    ]


def _serve(buses: int, per_bus: int, pipe: Connection) -> None:
    """Child process: run the simulated buses until the parent says stop."""

    async def main() -> None:
        sims = [ModbusSimulator(c) for c in _sim_configs(buses, per_bus)]
        running = [await s.__aenter__() for s in sims]
        pipe.send([r.port for r in running])
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        for s in sims:
            await s.__aexit__(None, None, None)

    asyncio.run(main())


async def _bench(ports: list[int], per_bus: int, cycles: int) -> dict[str, object]:
    devices = [
        DeviceConfig(unit_id=u, profile=MIX[(u - 1) % len(MIX)]) for u in range(1, per_bus + 1)
    ]
    drivers = [
        ModbusDriver(BusConfig(name=f"bench{i}", host="127.0.0.1", port=p, timeout_s=2.0), devices)
        for i, p in enumerate(ports)
    ]
    for d in drivers:
        await d.__aenter__()
    try:
        slot = datetime.now(UTC).replace(microsecond=0)
        await asyncio.gather(*(d.poll_once(slot) for d in drivers))  # warm-up: serial reads
        before = sum(s.requests for d in drivers for s in d.stats())
        started = time.perf_counter()
        delivered = 0
        for k in range(1, cycles + 1):
            results = await asyncio.gather(
                *(d.poll_once(slot + timedelta(minutes=15 * k)) for d in drivers)
            )
            delivered += sum(len(r) for r in results)
        elapsed = time.perf_counter() - started
        requests = sum(s.requests for d in drivers for s in d.stats()) - before
        errors = sum(s.errors for d in drivers for s in d.stats())
    finally:
        for d in drivers:
            await d.__aexit__(None, None, None)
    meters = len(drivers) * per_bus
    if delivered != meters * cycles or errors:
        raise SystemExit(f"bench: {delivered}/{meters * cycles} deliveries, {errors} errors")
    naive = len(drivers) * sum(len(PROFILES[d.profile].registers) for d in devices)
    per_poll = requests / cycles
    return {
        "bench": "modbus",
        "meters": meters,
        "meters_per_s": round(meters * cycles / elapsed, 1),
        "requests_per_poll": per_poll,
        "naive_requests_per_poll": naive,
        "requests_ratio": round(per_poll / naive, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buses", type=int, default=4)
    parser.add_argument("--meters-per-bus", type=int, default=60)
    parser.add_argument("--cycles", type=int, default=20)
    args = parser.parse_args()
    parent, child = mp.get_context("spawn").Pipe()
    server = mp.get_context("spawn").Process(
        target=_serve, args=(args.buses, args.meters_per_bus, child), daemon=True
    )
    server.start()
    try:
        if not parent.poll(60):
            raise SystemExit("bench: simulator did not start")
        ports = parent.recv()
        result = asyncio.run(_bench(ports, args.meters_per_bus, args.cycles))
    finally:
        parent.send("stop")
        server.join(10)
        if server.is_alive():
            server.terminate()
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
