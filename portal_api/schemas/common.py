"""Types several resources share."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from drivers.domain import kwh_text

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


class Page(BaseModel, Generic[T]):
    """A page of results, Octopus Energy style."""

    count: int = Field(ge=0, description="Results in all pages.", examples=[31])
    next: str | None = Field(default=None, description="URL of the next page.")
    previous: str | None = Field(default=None, description="URL of the previous page.")
    results: list[T]


class Message(BaseModel):
    """A plain acknowledgement."""

    detail: str = Field(examples=["a message with a link was sent to the address"])
