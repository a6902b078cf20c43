"""The portal's SQL: small modules of async query functions the API routes use.

``ingest`` is the only package that speaks SQL; ``portal_api`` calls these.
Every function takes a pooled connection and leaves transaction control to the
caller (one request, one transaction).
"""

from ingest.portal import (
    accounts,
    appeals,
    audit,
    changes,
    consumption,
    contact_changes,
    contracts,
    history,
    news,
    services,
    sessions,
    submissions,
    throttle,
    tokens,
    users,
    warnings,
)
from ingest.portal._sql import Conn

__all__ = [
    "Conn",
    "accounts",
    "appeals",
    "audit",
    "changes",
    "consumption",
    "contact_changes",
    "contracts",
    "history",
    "news",
    "services",
    "sessions",
    "submissions",
    "throttle",
    "tokens",
    "users",
    "warnings",
]
