"""Portal settings from the environment (prefix ``METERGATE_``).

Built by the CLI or the test fixtures and handed to ``create_app``; never at
import time. Database settings stay in ``gateway.settings``.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class PortalSettings(BaseSettings):
    """Mail, links, sessions, upload limits, throttling and password hashing."""

    model_config = SettingsConfigDict(env_prefix="METERGATE_", extra="ignore")

    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where the cabinet's pages live; e-mailed links start with it.",
    )
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server for outgoing mail.")
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_from: str = Field(default="Metergate <no-reply@metergate.local>")
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_s: float = Field(default=10.0, gt=0)

    cookie_secure: bool = Field(
        default=True,
        description="Send the session cookie over HTTPS only (off only for local HTTP).",
    )
    cookie_session_ttl_s: int = Field(default=12 * 3600, ge=60, description="Browser sessions.")
    bearer_session_ttl_s: int = Field(default=30 * 24 * 3600, ge=60, description="API tokens.")
    session_idle_timeout_s: int = Field(
        default=30 * 60,
        ge=300,
        description="A session (cookie or bearer) unused for longer than this ends. Last use "
        "is stored at most once a minute, hence the 5-minute minimum.",
    )
    caller_cache_s: int = Field(
        default=30,
        ge=0,
        le=60,
        description="How long each API process remembers the caller of a consumption, history "
        "or summary page (session and the account's points), kept true by the store's change "
        "notices; 0: look the caller up on every request.",
    )
    caller_cache_size: int = Field(
        default=10_000, ge=1, description="Callers remembered per API process, at most."
    )
    fast_path: bool = Field(
        default=True,
        description="Serve consumers' consumption, history and summary pages without "
        "FastAPI's routing and dependency solving (portal_api.fastpath); the same answers.",
    )
    confirm_token_ttl_s: int = Field(default=48 * 3600, ge=60, description="Registration links.")
    reset_token_ttl_s: int = Field(default=3600, ge=60, description="Password-reset links.")
    email_change_token_ttl_s: int = Field(default=24 * 3600, ge=60)

    photo_max_bytes: int = Field(default=10 * 2**20, ge=1024, description="P6 photos.")
    attachment_max_bytes: int = Field(default=10 * 2**20, ge=1024, description="P16 files.")
    document_max_bytes: int = Field(default=20 * 2**20, ge=1024, description="P11 documents.")
    image_max_pixels: int = Field(default=50_000_000, ge=1, description="Decompression-bomb guard.")

    login_limit_per_account: int = Field(default=5, ge=1)
    login_limit_per_address: int = Field(default=30, ge=1)
    login_window_s: int = Field(default=900, ge=1)
    activation_limit_per_account: int = Field(default=5, ge=1)
    activation_limit_per_address: int = Field(default=20, ge=1)
    activation_window_s: int = Field(default=3600, ge=1)
    mail_limit_per_email: int = Field(default=3, ge=1)
    mail_limit_per_address: int = Field(default=20, ge=1)
    mail_window_s: int = Field(default=3600, ge=1)

    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    warning_notice_working_days: int = Field(
        default=10, ge=0, description="Minimum notice for a disconnection for debt."
    )
    public_holidays: list[date] = Field(
        default_factory=list,
        description="Non-working days besides weekends (JSON list of dates). Empty under "
        "martial law, when public holidays are working days.",
    )
    bootstrap_admin_email: str | None = Field(
        default=None,
        description="Created as an admin at start if missing; a set-password link is mailed.",
    )
    max_request_bytes: int = Field(default=40 * 2**20, ge=1024)
    analytics_statement_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="An analytics query (a streamed export's every fetch) running longer is "
        "cancelled: 503 query-timeout.",
    )

    @field_validator("public_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_limits(self) -> PortalSettings:
        biggest = max(self.photo_max_bytes, self.attachment_max_bytes, self.document_max_bytes)
        if self.max_request_bytes < biggest:
            raise ValueError("METERGATE_MAX_REQUEST_BYTES must allow the largest upload")
        return self

    @property
    def session_idle_timeout(self) -> timedelta:
        return timedelta(seconds=self.session_idle_timeout_s)

    @property
    def analytics_statement_timeout(self) -> timedelta:
        return timedelta(seconds=self.analytics_statement_timeout_s)

    @property
    def login_window(self) -> timedelta:
        return timedelta(seconds=self.login_window_s)

    @property
    def activation_window(self) -> timedelta:
        return timedelta(seconds=self.activation_window_s)

    @property
    def mail_window(self) -> timedelta:
        return timedelta(seconds=self.mail_window_s)


def portal_settings_or_exit() -> PortalSettings:
    """Build the settings, or stop with one line per wrong setting."""
    try:
        return PortalSettings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "METERGATE_" + "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"bad setting {name}: {err['msg']}" if err["loc"] else err["msg"])
        raise SystemExit("\n".join(lines)) from None
