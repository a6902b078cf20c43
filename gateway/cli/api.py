"""``metergate api``: serve the portal API with uvicorn."""

from __future__ import annotations


def api() -> None:
    """Serve the API (not yet implemented)."""
    raise SystemExit("not implemented yet")
