"""Registration (P2), confirmation and first password (P3), login, logout,
password reset and the confirmation of a new e-mail address (P17)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response, status

from ingest.portal import sessions as sessions_sql
from ingest.portal import tokens as tokens_sql
from ingest.portal import users as users_sql
from ingest.portal.users import User
from portal_api import mail
from portal_api.deps import (
    ClientAddress,
    Conn,
    CurrentUser,
    MailerDep,
    PasswordsDep,
    SettingsDep,
)
from portal_api.errors import ProblemError, conflict, responses
from portal_api.schemas.auth import (
    BearerSession,
    CookieSession,
    Credentials,
    Registration,
    ResetRequest,
    TokenAndPassword,
    TokenOnly,
    UserOut,
)
from portal_api.schemas.common import Message
from portal_api.security import sessions
from portal_api.security.throttle import Limit, guard
from portal_api.security.tokens import key_digest, new_token, token_hash
from portal_api.settings import PortalSettings

router = APIRouter(prefix="/auth", tags=["auth"])

_SENT = Message(detail="if the address can be used, a message with a link was sent to it")


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, email=user.email, role=user.role)


def _mail_limits(settings: PortalSettings, email: str, address: str) -> list[Limit]:
    return [
        Limit(f"mail:email:{key_digest(email)}", settings.mail_limit_per_email),
        Limit(f"mail:addr:{address}", settings.mail_limit_per_address),
    ]


async def _issue(
    conn: Conn,
    *,
    user_id: int,
    purpose: tokens_sql.Purpose,
    ttl_s: int,
    new_email: str | None = None,
) -> str:
    token = new_token()
    await tokens_sql.issue(
        conn,
        user_id=user_id,
        purpose=purpose,
        token_hash=token_hash(token),
        ttl=timedelta(seconds=ttl_s),
        new_email=new_email,
    )
    return token


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Register with an e-mail and both consents (P2)",
    responses=responses(422, 429, 503),
)
async def register(
    body: Registration,
    conn: Conn,
    settings: SettingsDep,
    mailer: MailerDep,
    address: ClientAddress,
) -> Message:
    """Sends a link to continue the registration. The answer is the same whether
    or not the address is registered already (no account enumeration): a
    registered address gets a password-reset link instead."""
    async with guard(conn, _mail_limits(settings, body.email, address), settings.mail_window):
        user = await users_sql.create_consumer(conn, body.email)
        if user is None:
            existing = await users_sql.by_email(conn, body.email)
            assert existing is not None
            user = existing
            if existing.password_hash is not None or existing.role != "consumer":
                token = await _issue(
                    conn, user_id=user.id, purpose="reset", ttl_s=settings.reset_token_ttl_s
                )
                await mailer.send(
                    user.email, *mail.already_registered(mailer.link("reset-password", token))
                )
                return _SENT
        token = await _issue(
            conn, user_id=user.id, purpose="confirm", ttl_s=settings.confirm_token_ttl_s
        )
        await mailer.send(
            user.email, *mail.confirm_registration(mailer.link("register/confirm", token))
        )
    return _SENT


@router.post(
    "/confirm",
    summary="Confirm the e-mail and set the first password (P3)",
    responses=responses(404, 422),
)
async def confirm(body: TokenAndPassword, conn: Conn, passwords: PasswordsDep) -> UserOut:
    """The registration link's token and the password typed twice. The token
    works once and expires. Then log in and activate a personal account (P4)."""
    used = await tokens_sql.consume(conn, token_hash=token_hash(body.token), purpose="confirm")
    if used is None:
        raise ProblemError(
            404, "invalid-token", "Invalid link", "the link is unknown, used or expired"
        )
    await users_sql.set_password(
        conn, used.user_id, await passwords.hash(body.password), confirm=True
    )
    user = await users_sql.by_id(conn, used.user_id)
    assert user is not None
    return user_out(user)


async def _authenticate(
    conn: Conn,
    settings: PortalSettings,
    passwords: PasswordsDep,
    body: Credentials,
    address: str,
) -> User:
    email_key = f"login:email:{key_digest(body.email)}"
    limits = [
        Limit(email_key, settings.login_limit_per_account),
        Limit(f"login:addr:{address}", settings.login_limit_per_address),
    ]
    async with guard(conn, limits, settings.login_window) as attempt:
        user = await users_sql.by_email(conn, body.email)
        ok = await passwords.verify(user.password_hash if user else None, body.password)
        if user is None or not ok or user.confirmed_at is None or user.disabled_at is not None:
            raise ProblemError(
                401,
                "invalid-credentials",
                "Login failed",
                "wrong e-mail or password",
                headers={"WWW-Authenticate": "Bearer"},
            )
        await attempt.succeeded(clear=[email_key])
    assert user.password_hash is not None
    if passwords.needs_rehash(user.password_hash):
        await users_sql.set_password(
            conn, user.id, await passwords.hash(body.password), confirm=False
        )
    return user


@router.post(
    "/login",
    summary="Log in a browser: session cookie + CSRF token",
    responses=responses(401, 422, 429),
)
async def login(
    body: Credentials,
    response: Response,
    conn: Conn,
    settings: SettingsDep,
    passwords: PasswordsDep,
    address: ClientAddress,
) -> CookieSession:
    """Sets the HttpOnly ``mg_session`` cookie (path /api) and the readable
    ``mg_csrf`` cookie. Throttled per account and per client address."""
    user = await _authenticate(conn, settings, passwords, body, address)
    token, csrf, expires_at = await sessions.start(conn, settings, user_id=user.id, kind="cookie")
    assert csrf is not None
    sessions.set_cookies(
        response, settings, token=token, csrf=csrf, max_age=settings.cookie_session_ttl_s
    )
    return CookieSession(user=user_out(user), csrf_token=csrf, expires_at=expires_at)


@router.post(
    "/token",
    summary="Log in an API client: bearer token",
    responses=responses(401, 422, 429),
)
async def token(
    body: Credentials,
    conn: Conn,
    settings: SettingsDep,
    passwords: PasswordsDep,
    address: ClientAddress,
) -> BearerSession:
    """An opaque token for ``Authorization: Bearer``. Throttled like /login."""
    user = await _authenticate(conn, settings, passwords, body, address)
    raw, _, expires_at = await sessions.start(conn, settings, user_id=user.id, kind="bearer")
    return BearerSession(user=user_out(user), access_token=raw, expires_at=expires_at)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End the current session",
    responses=responses(401, 403),
)
async def logout(user: CurrentUser, conn: Conn, response: Response, settings: SettingsDep) -> None:
    await sessions_sql.delete(conn, user.session_id)
    sessions.clear_cookies(response, settings)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask for a password-reset link",
    responses=responses(422, 429, 503),
)
async def password_reset(
    body: ResetRequest,
    conn: Conn,
    settings: SettingsDep,
    mailer: MailerDep,
    address: ClientAddress,
) -> Message:
    """Same answer whether or not the address is registered."""
    async with guard(conn, _mail_limits(settings, body.email, address), settings.mail_window):
        user = await users_sql.by_email(conn, body.email)
        if user is not None and user.disabled_at is None:
            raw = await _issue(
                conn, user_id=user.id, purpose="reset", ttl_s=settings.reset_token_ttl_s
            )
            await mailer.send(user.email, *mail.reset_password(mailer.link("reset-password", raw)))
    return _SENT


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the reset link's token",
    responses=responses(404, 422),
)
async def password_reset_confirm(
    body: TokenAndPassword, conn: Conn, passwords: PasswordsDep
) -> None:
    """Every session of the user ends: log in again with the new password."""
    used = await tokens_sql.consume(conn, token_hash=token_hash(body.token), purpose="reset")
    if used is None:
        raise ProblemError(
            404, "invalid-token", "Invalid link", "the link is unknown, used or expired"
        )
    await users_sql.set_password(
        conn, used.user_id, await passwords.hash(body.password), confirm=True
    )
    await sessions_sql.delete_for_user(conn, used.user_id)


@router.post(
    "/email-change/confirm",
    summary="Confirm a new login e-mail with the link sent to it (P17)",
    responses=responses(404, 409, 422),
)
async def email_change_confirm(body: TokenOnly, conn: Conn) -> UserOut:
    used = await tokens_sql.consume(conn, token_hash=token_hash(body.token), purpose="email_change")
    if used is None or used.new_email is None:
        raise ProblemError(
            404, "invalid-token", "Invalid link", "the link is unknown, used or expired"
        )
    if not await users_sql.set_email(conn, used.user_id, used.new_email):
        raise conflict("email-taken", "another login uses this address now")
    user = await users_sql.by_id(conn, used.user_id)
    assert user is not None
    return user_out(user)
