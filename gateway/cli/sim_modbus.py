"""``metergate simulate modbus``."""

from __future__ import annotations


def simulate_modbus() -> None:
    """Serve simulated Modbus meters (not yet implemented)."""
    raise SystemExit("not implemented yet")
