"""Ingest benchmark: MQTT -> gateway -> store, against a bare paho subscriber.

1. A private Mosquitto (unlimited queues) on a free port, or METERGATE_MQTT_URL.
2. Two persistent QoS 1 sessions are created (the gateway's and a bare
   subscriber's), then N messages of 3 registers each are published: both
   sessions hold the whole preload.
3. The bare paho subscriber drains its session doing nothing: raw msgs/s.
4. The gateway (`metergate gateway run`, a separate process) is started on its
   session; timed until every row is committed: readings/s; lost and doubled
   rows are counted from the store.
5. A paced run at BENCH_INGEST_PACED readings/s (default 20,000) with ``ts`` =
   publish time: publish->commit latency p50/p99 from ``received_at - read_at``
   (received_at is the committing transaction's start).
Prints one JSON line. N = BENCH_INGEST_MESSAGES (default 300,000).
BENCH_INGEST_WORKERS gateway processes split the stream over a shared
subscription (default 2, or 1 on a one-CPU machine; 1 measures one process).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.servers import server_url
from ingest.migrate import migrate
from simulators.broker import MosquittoProcess

MESSAGES = int(os.environ.get("BENCH_INGEST_MESSAGES", "300000"))
PACED_RATE = int(os.environ.get("BENCH_INGEST_PACED", "20000"))
PACED_SECONDS = float(os.environ.get("BENCH_INGEST_PACED_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_INGEST_WORKERS", str(min(2, os.cpu_count() or 1))))
METERS = 1_000
TOPIC = "bench/{serial}/reading"
FILTER = "bench/+/reading"
TARGET_READINGS_PER_S = 100_000
TARGET_RATIO = 0.6
TARGET_P99_S = 0.25


def payload(serial: str, at: datetime, base: int) -> bytes:
    regs = ",".join(f'{{"register":{r},"value":{base + r},"unit":"Wh"}}' for r in (0, 1, 2))
    return f'{{"meter":"{serial}","ts":"{at.isoformat()}","registers":[{regs}]}}'.encode()


def _client(client_id: str, host: str, port: int) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    return client


def _connect_props() -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 65535
    return props


def make_session(client_id: str, host: str, port: int, topic_filter: str = FILTER) -> None:
    """Create a persistent session subscribed to the bench topics, then leave."""
    client = _client(client_id, host, port)
    client.connect(host, port, clean_start=False, properties=_connect_props())
    client.loop_start()
    info = client.subscribe(topic_filter, qos=1)
    time.sleep(0.5)
    assert info[0] == paho.MQTT_ERR_SUCCESS
    client.disconnect()
    client.loop_stop()


def publish(host: str, port: int, messages: list[tuple[str, bytes]]) -> float:
    """Publish QoS 1 as fast as the broker takes it; wait for every PUBACK; seconds taken."""
    client = _client(f"bench-pub-{uuid.uuid4().hex[:6]}", host, port)
    done = threading.Semaphore(0)
    client.on_publish = lambda *_: done.release()
    client.connect(host, port)
    client.loop_start()
    started = time.perf_counter()
    for topic, body in messages:
        while client.publish(topic, body, qos=1).rc == paho.MQTT_ERR_QUEUE_SIZE:
            time.sleep(0.001)
    for _ in messages:
        done.acquire(timeout=120)
    client.disconnect()
    client.loop_stop()
    return time.perf_counter() - started


def raw_drain(client_id: str, host: str, port: int, expected: int) -> float:
    """A bare subscriber on its preloaded session; seconds until ``expected`` arrived."""
    got = 0
    finished = threading.Event()

    def on_message(*_: object) -> None:
        nonlocal got
        got += 1
        if got >= expected:
            finished.set()

    client = _client(client_id, host, port)
    client.on_message = on_message
    started = time.perf_counter()
    client.connect(host, port, clean_start=False, properties=_connect_props())
    client.loop_start()
    finished.wait(600)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    if got < expected:
        raise RuntimeError(f"raw subscriber got {got} of {expected}")
    return elapsed


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    return int(row[0]) if row else 0


def gateway_drain(
    url: str, broker: str, client_id: str, expected_rows: int, workdir: Path
) -> tuple[float, subprocess.Popen[bytes]]:
    toml = workdir / "gateway.toml"
    share = 'share_group = "bench"' if WORKERS > 1 else ""
    toml.write_text(
        f"""
[pipeline]
batch_size = 5000
batch_age_s = 0.05

[mqtt]
url = "{broker}"
client_id = "{client_id}"
protocol = "5"
queue_size = 50000
{share}

[[mqtt.routes]]
topic_filter = "{FILTER}"
payload_format = "metergate"
"""
    )
    env = dict(os.environ, METERGATE_DATABASE_URL=url, METERGATE_DATA_DIR=str(workdir))
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "gateway",
            "run",
            "-c",
            str(toml),
            "--workers",
            str(WORKERS),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while _count(url) < expected_rows:
        if process.poll() is not None:
            raise RuntimeError("gateway exited early")
        if time.perf_counter() - started > 900:
            raise RuntimeError(f"gateway stored {_count(url)} of {expected_rows} rows in 900 s")
        time.sleep(0.05)
    return time.perf_counter() - started, process


def latency(url: str, since: datetime) -> tuple[float, float, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag),"
            " percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), count(*)"
            " FROM (SELECT extract(epoch FROM received_at - read_at) AS lag"
            "       FROM readings WHERE read_at >= %s) AS x",
            (since,),
        ).fetchone()
    assert row is not None
    return float(row[0]), float(row[1]), int(row[2])


def main() -> None:
    server = server_url()
    name = f"mg_bench_ingest_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(server, dbname=name)
    workdir = Path(tempfile.mkdtemp(prefix="metergate-bench-ingest-"))
    broker_process: MosquittoProcess | None = None
    gateway: subprocess.Popen[bytes] | None = None
    try:
        migrate(url)
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO meters (serial, model, digits, zones, registers)"
                " SELECT 'BM' || lpad(g::text, 5, '0'), 'bench', 9, 2, '{0,1,2}'"
                " FROM generate_series(0, %s) AS g",
                (METERS - 1,),
            )
        if broker_url := os.environ.get("METERGATE_MQTT_URL"):
            parts = urlsplit(broker_url)
            host, port = parts.hostname or "127.0.0.1", parts.port or 1883
        else:
            (workdir / "mosquitto").mkdir()
            broker_process = MosquittoProcess(workdir / "mosquitto", "")
            asyncio.run(broker_process.start())
            host, port = broker_process.host, broker_process.port
            broker_url = broker_process.url
        run = uuid.uuid4().hex[:6]
        gw_id, raw_id = f"bench-gw-{run}", f"bench-raw-{run}"
        gw_ids = [f"{gw_id}-w{i}" for i in range(WORKERS)] if WORKERS > 1 else [gw_id]
        gw_filter = f"$share/bench/{FILTER}" if WORKERS > 1 else FILTER
        for cid in gw_ids:
            make_session(cid, host, port, gw_filter)
        make_session(raw_id, host, port)
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        serials = [f"BM{i % METERS:05d}" for i in range(MESSAGES)]
        messages = [
            (
                TOPIC.format(serial=s),
                payload(s, t0 + timedelta(minutes=15 * (i // METERS)), 10**6 + i),
            )
            for i, s in enumerate(serials)
        ]
        publish_s = publish(host, port, messages)
        raw_s = raw_drain(raw_id, host, port, MESSAGES)
        gw_s, gateway = gateway_drain(url, broker_url, gw_id, MESSAGES * 3, workdir)
        stored = _count(url)
        # Paced run: ts = publish time, so received_at - read_at is publish -> commit.
        paced_msgs = int(PACED_RATE / 3 * PACED_SECONDS)
        since = datetime.now(UTC)
        paced_started = time.perf_counter()
        client = _client(f"bench-paced-{run}", host, port)
        client.connect(host, port)
        client.loop_start()
        sent: list[paho.MQTTMessageInfo] = []
        for i in range(paced_msgs):
            delay = paced_started + i / (PACED_RATE / 3) - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            serial = f"BM{i % METERS:05d}"
            body = payload(serial, datetime.now(UTC), 5_000_000 + i)
            sent.append(client.publish(TOPIC.format(serial=serial), body, qos=1))
        for info in sent:  # every PUBACK before disconnecting, or queued messages are lost
            info.wait_for_publish(60)
        client.disconnect()
        client.loop_stop()
        deadline = time.perf_counter() + 120
        while _count(url) < stored + paced_msgs * 3 and time.perf_counter() < deadline:
            time.sleep(0.1)
        p50, p99, paced_rows = latency(url, since)
        ratio = (MESSAGES / gw_s) / (MESSAGES / raw_s)
        readings_per_s = MESSAGES * 3 / gw_s
        print(json.dumps({
            "bench": "ingest",
            "messages": MESSAGES,
            "workers": WORKERS,
            "publish_msgs_per_s": round(MESSAGES / publish_s),
            "readings_per_s": round(readings_per_s),
            "raw_drain_msgs_per_s": round(MESSAGES / raw_s),
            "ratio": round(ratio, 3),
            "lost": MESSAGES * 3 - stored,
            "duplicates": max(0, stored - MESSAGES * 3),
            "paced_readings_per_s": PACED_RATE,
            "paced_rows": paced_rows,
            "latency_p50_s": round(p50, 4),
            "latency_p99_s": round(p99, 4),
            "readings_per_s_to_target": round(readings_per_s / TARGET_READINGS_PER_S, 3),
            "ratio_to_target": round(ratio / TARGET_RATIO, 3),
            "p99_to_ceiling": round(p99 / TARGET_P99_S, 3),
        }))  # fmt: skip
    finally:
        if gateway is not None and gateway.poll() is None:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(60)
        if broker_process is not None:
            asyncio.run(broker_process.stop())
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
