"""``metergate simulate mqtt``."""

from __future__ import annotations


def simulate_mqtt() -> None:
    """Serve simulated MQTT meters (not yet implemented)."""
    raise SystemExit("not implemented yet")
