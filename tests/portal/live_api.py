"""The API as operators run it: ``metergate api`` in its own process, on a free
port, stopped with Ctrl-C. Its output goes to a file (a pipe nobody reads
would fill up and stall the server), read back once it has stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import httpx
from pydantic import SecretStr

from portal_api import PortalSettings
from simulators.broker import free_port


@dataclass
class LiveApi:
    base_url: str
    process: subprocess.Popen[str]
    output: str = ""
    """Everything the process printed; filled in when it has stopped."""


def settings_env(settings: PortalSettings) -> dict[str, str]:
    """``settings`` as the ``METERGATE_*`` variables the process reads them from."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        secret = getattr(settings, name)
        if isinstance(secret, SecretStr):
            value = secret.get_secret_value()
        env[f"METERGATE_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


@contextmanager
def live_api(env: dict[str, str], *args: str, start_s: float = 30) -> Iterator[LiveApi]:
    """Serve the API with ``env`` over this process's environment; yield once it answers."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "api", "--port", str(port), *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        live = LiveApi(f"http://127.0.0.1:{port}", process)
        try:
            deadline = time.monotonic() + start_s
            while True:
                assert process.poll() is None, f"the API exited:\n{_read(out)}"
                try:
                    httpx.get(f"{live.base_url}/api/v1/services", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, f"the API did not start:\n{_read(out)}"
                    time.sleep(0.2)
            yield live
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            live.output = _read(out)


def _read(out: IO[str]) -> str:
    out.flush()
    out.seek(0)
    return out.read()
