"""The caller's own login: who am I, change password, change e-mail (P17)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from ingest.portal import accounts as accounts_sql
from ingest.portal import sessions as sessions_sql
from ingest.portal import tokens as tokens_sql
from ingest.portal import users as users_sql
from portal_api import mail
from portal_api.deps import (
    ClientAddress,
    Conn,
    CurrentUser,
    MailerDep,
    PasswordsDep,
    SettingsDep,
)
from portal_api.errors import ProblemError, responses
from portal_api.schemas.auth import EmailChange, Me, PasswordChange, UserOut
from portal_api.schemas.common import Message
from portal_api.security.throttle import Limit, guard
from portal_api.security.tokens import key_digest, new_token, token_hash

router = APIRouter(prefix="/me", tags=["profile"])


@router.get(
    "", summary="The caller: login, role, session, linked accounts", responses=responses(401)
)
async def me(user: CurrentUser, conn: Conn) -> Me:
    linked = await accounts_sql.linked_accounts(conn, user.user_id)
    active = next((a.number for a in linked if a.active), None)
    return Me(
        user=UserOut(id=user.user_id, email=user.email, role=user.role),
        session=user.kind,
        expires_at=user.expires_at,
        accounts=[a.number for a in linked],
        active_account=active,
    )


async def _check_password(
    conn: Conn,
    settings: SettingsDep,
    passwords: PasswordsDep,
    user: CurrentUser,
    password: str,
    address: str,
) -> None:
    """The current password, throttled like a login (it is one)."""
    key = f"login:email:{key_digest(user.email)}"
    limits = [
        Limit(key, settings.login_limit_per_account),
        Limit(f"login:addr:{address}", settings.login_limit_per_address),
    ]
    async with guard(conn, limits, settings.login_window) as attempt:
        found = await users_sql.by_id(conn, user.user_id)
        if found is None or not await passwords.verify(found.password_hash, password):
            raise ProblemError(
                422, "wrong-password", "Wrong password", "the current password is wrong"
            )
        await attempt.succeeded(clear=[key])


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change the password (P17)",
    responses=responses(401, 403, 422, 429),
)
async def change_password(
    body: PasswordChange,
    user: CurrentUser,
    conn: Conn,
    settings: SettingsDep,
    passwords: PasswordsDep,
    address: ClientAddress,
) -> None:
    """Every other session of the user ends; this one stays."""
    await _check_password(conn, settings, passwords, user, body.current_password, address)
    await users_sql.set_password(
        conn, user.user_id, await passwords.hash(body.password), confirm=False
    )
    await sessions_sql.delete_for_user(conn, user.user_id, keep=user.session_id)


@router.post(
    "/email",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Change the login e-mail: a link goes to the new address (P17)",
    responses=responses(401, 403, 422, 429, 503),
)
async def change_email(
    body: EmailChange,
    user: CurrentUser,
    conn: Conn,
    settings: SettingsDep,
    passwords: PasswordsDep,
    mailer: MailerDep,
    address: ClientAddress,
) -> Message:
    """The login changes only when the link sent to the new address is followed
    (``POST /auth/email-change/confirm``); the old address gets a notice."""
    await _check_password(conn, settings, passwords, user, body.current_password, address)
    limits = [
        Limit(f"mail:email:{key_digest(body.new_email)}", settings.mail_limit_per_email),
        Limit(f"mail:addr:{address}", settings.mail_limit_per_address),
    ]
    async with guard(conn, limits, settings.mail_window):
        raw = new_token()
        await tokens_sql.issue(
            conn,
            user_id=user.user_id,
            purpose="email_change",
            token_hash=token_hash(raw),
            ttl=timedelta(seconds=settings.email_change_token_ttl_s),
            new_email=body.new_email,
        )
        await mailer.send(
            body.new_email, *mail.confirm_email_change(mailer.link("confirm-email", raw))
        )
        await mailer.send(user.email, *mail.email_change_notice(body.new_email))
    return Message(detail="a confirmation link was sent to the new address")
