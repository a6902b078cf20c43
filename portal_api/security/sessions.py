"""Starting and ending sessions; the cookies a browser session uses."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from fastapi import Response

from ingest.portal import Conn
from ingest.portal import sessions as sessions_sql
from ingest.portal.sessions import Kind
from portal_api.deps import CSRF_COOKIE, SESSION_COOKIE
from portal_api.security.tokens import new_token, token_hash
from portal_api.settings import PortalSettings


async def start(
    conn: Conn, settings: PortalSettings, *, user_id: int, kind: Kind
) -> tuple[str, str | None, datetime]:
    """A new session: (raw token for the client, CSRF token or None, expiry)."""
    ttl = settings.cookie_session_ttl_s if kind == "cookie" else settings.bearer_session_ttl_s
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl)
    token = new_token()
    csrf = secrets.token_urlsafe(24) if kind == "cookie" else None
    await sessions_sql.create(
        conn,
        user_id=user_id,
        token_hash=token_hash(token),
        kind=kind,
        csrf_token=csrf,
        expires_at=expires_at,
    )
    return token, csrf, expires_at


def set_cookies(
    response: Response, settings: PortalSettings, *, token: str, csrf: str, max_age: int
) -> None:
    """The session cookie (HttpOnly, only for /api) and a readable CSRF cookie that
    a page can echo in X-CSRF-Token."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/api",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=max_age,
        path="/",
        secure=settings.cookie_secure,
        httponly=False,
        samesite="strict",
    )


def clear_cookies(response: Response, settings: PortalSettings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/api", secure=settings.cookie_secure, httponly=True
    )
    response.delete_cookie(CSRF_COOKIE, path="/", secure=settings.cookie_secure)
