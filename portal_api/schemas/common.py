"""Types several resources share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from drivers.domain import KYIV, kwh_text

T = TypeVar("T")

_EMAIL_MAX = 254


def _check_email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    if not local or "." not in domain or domain.startswith(".") or domain.endswith("."):
        raise ValueError("not a valid e-mail address")
    if any(c.isspace() for c in value) or len(local) > 64:
        raise ValueError("not a valid e-mail address")
    return f"{local}@{domain.lower()}"


Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=3,
        max_length=_EMAIL_MAX,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    ),
    AfterValidator(_check_email),
    Field(examples=["olena.kovalchuk@example.com"]),
]
"""An e-mail address (the login); the domain is kept in lower case."""

Password = Annotated[
    str,
    Field(min_length=8, max_length=128, examples=["correct horse battery"]),
]

KWH_PATTERN = r"^-?\d+\.\d{3}$"
Kwh = Annotated[
    str,
    Field(
        pattern=KWH_PATTERN,
        description="kWh as an exact decimal string (Wh / 1000).",
        examples=["12.345"],
    ),
]


kwh = kwh_text
"""Exact kWh text of an integer Wh value (``drivers.domain.kwh_text``)."""

_KYIV_TEXT: dict[datetime, str] = {}
_KYIV_TEXT_SIZE = 20_000


def kyiv_text(at: datetime) -> str:
    """An aware instant in Kyiv local time as ISO 8601 text, exactly as a
    response model's ``datetime`` field serializes it (2000..2100, where Kyiv's
    offsets are whole hours), for the bodies ``portal_api.bodies`` builds.

    Remembered per instant: every consumer's pages show the same bucket
    boundaries, and converting to Kyiv time and serializing costs ~1.4 µs an
    instant where the lookup costs ~0.15 µs (a 31-day page shows 62). The memo
    starts over when it reaches ``_KYIV_TEXT_SIZE`` instants (~4 MB). The key
    is the instant in UTC: two Kyiv wall-clock times of one zone compare
    equal whatever their ``fold``, so the hour repeated in October would
    share one text (a UTC time is its own key)."""
    instant = at.astimezone(UTC)
    text = _KYIV_TEXT.get(instant)
    if text is None:
        if len(_KYIV_TEXT) >= _KYIV_TEXT_SIZE:
            _KYIV_TEXT.clear()
        text = _KYIV_TEXT[instant] = instant.astimezone(KYIV).isoformat()
    return text


class Page(BaseModel, Generic[T]):
    """A page of results, Octopus Energy style."""

    count: int = Field(ge=0, description="Results in all pages.", examples=[31])
    next: str | None = Field(default=None, description="URL of the next page.")
    previous: str | None = Field(default=None, description="URL of the previous page.")
    results: list[T]


class Message(BaseModel):
    """A plain acknowledgement."""

    detail: str = Field(examples=["a message with a link was sent to the address"])
