"""Registration, confirmation, login, password reset (P2, P3, P17)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from portal_api.schemas.common import Email, Password


class Registration(BaseModel):
    """P2: the e-mail becomes the login; both consents are required."""

    email: Email
    accept_terms: Literal[True] = Field(description="The user agreement was read and accepted.")
    accept_data_processing: Literal[True] = Field(
        description="Consent to the processing of personal data."
    )


class NewPassword(BaseModel):
    """A password typed twice (P3)."""

    password: Password
    password_confirm: Password

    @model_validator(mode="after")
    def _same(self) -> NewPassword:
        if self.password != self.password_confirm:
            raise ValueError("the two passwords differ")
        return self


class TokenAndPassword(NewPassword):
    token: str = Field(min_length=20, max_length=100, description="From the e-mailed link.")


class TokenOnly(BaseModel):
    token: str = Field(min_length=20, max_length=100, description="From the e-mailed link.")


class ResetRequest(BaseModel):
    email: Email


class Credentials(BaseModel):
    email: Email
    password: str = Field(min_length=1, max_length=128, examples=["correct horse battery"])


class UserOut(BaseModel):
    id: int = Field(examples=[42])
    email: str = Field(examples=["olena.kovalchuk@example.com"])
    role: Literal["consumer", "operator", "analyst", "admin"] = Field(examples=["consumer"])


class CookieSession(BaseModel):
    """A browser session: the cookie is set; send ``csrf_token`` in X-CSRF-Token."""

    user: UserOut
    csrf_token: str = Field(examples=["k3J9…"])
    expires_at: datetime


class BearerSession(BaseModel):
    """An API session: send ``Authorization: Bearer <access_token>``."""

    user: UserOut
    access_token: str = Field(examples=["Zk2x…"])
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime


class Me(BaseModel):
    user: UserOut
    session: Literal["cookie", "bearer"]
    expires_at: datetime
    accounts: list[str] = Field(description="Linked account numbers.", examples=[["10000001"]])
    active_account: str | None = Field(examples=["10000001"])


class PasswordChange(NewPassword):
    current_password: str = Field(min_length=1, max_length=128)


class EmailChange(BaseModel):
    new_email: Email
    current_password: str = Field(min_length=1, max_length=128)
