"""Which database the process uses: the configured URL, or the embedded server."""

from __future__ import annotations

from gateway.settings import Settings
from ingest.embedded import embedded_database_url


def database_url(settings: Settings) -> str:
    """``METERGATE_DATABASE_URL`` when set; else start (or join) the embedded PostgreSQL."""
    if settings.database_url:
        return settings.database_url
    return embedded_database_url(settings.data_dir)
