"""Process settings from the environment (prefix ``METERGATE_``).

Built in the CLI or the app factory, never at import time. A bad value stops the
start with one line naming the setting and what is wrong (``settings_or_exit``).
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
import psycopg
from psycopg.conninfo import conninfo_to_dict
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("metergate", appauthor=False))


class Settings(BaseSettings):
    """Everything the process reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="METERGATE_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL/TimescaleDB URL or libpq string. Unset: embedded PostgreSQL.",
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the embedded database, the spool and other state live.",
    )
    mqtt_url: str | None = Field(
        default=None, description="Broker URL (mqtt:// or mqtts://). Unset: an embedded broker."
    )
    pool_min_size: int = Field(default=1, ge=1)
    pool_max_size: int = Field(default=8, ge=1)
    future_tolerance_s: int = Field(
        default=300, ge=0, description="How far in the future a reading may be before rejection."
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        """A ``postgresql://`` URL or a libpq ``key=value`` string, parsed as libpq does."""
        if value is None:
            return None
        if "://" in value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL or a libpq key=value string")
        try:
            conninfo_to_dict(value)
        except psycopg.ProgrammingError as exc:
            raise ValueError(f"not a PostgreSQL connection string: {str(exc).strip()}") from None
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("mqtt://", "mqtts://")):
            raise ValueError("must start with mqtt:// or mqtts://")
        return value

    @model_validator(mode="after")
    def _check_pool(self) -> Settings:
        if self.pool_max_size < self.pool_min_size:
            raise ValueError("METERGATE_POOL_MAX_SIZE must be >= METERGATE_POOL_MIN_SIZE")
        return self


def settings_or_exit() -> Settings:
    """Build the settings, or stop with one line per wrong setting."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "METERGATE_" + "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"bad setting {name}: {err['msg']}" if err["loc"] else err["msg"])
        raise SystemExit("\n".join(lines)) from None
