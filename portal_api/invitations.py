"""Inviting a new staff login: a set-password link, issued, audited and mailed.

Used by the admin route that creates logins and by the bootstrap admin at
start. Runs in the caller's transaction: when the mail cannot be sent the
caller's rollback takes the login, the link and the audit row with it.
"""

from __future__ import annotations

from datetime import timedelta

from ingest.portal import audit
from ingest.portal import tokens as tokens_sql
from ingest.portal._sql import Conn
from ingest.portal.users import User
from portal_api import mail
from portal_api.mail import Mailer
from portal_api.security.tokens import new_token, token_hash
from portal_api.settings import PortalSettings


async def invite_staff(
    conn: Conn, created: User, *, actor: str, settings: PortalSettings, mailer: Mailer
) -> None:
    """Issue ``created`` a set-password link, record the creation, mail the link."""
    raw = new_token()
    await tokens_sql.issue(
        conn,
        user_id=created.id,
        purpose="reset",
        token_hash=token_hash(raw),
        ttl=timedelta(seconds=settings.confirm_token_ttl_s),
    )
    await audit.record(
        conn,
        actor=actor,
        action="user.create",
        entity="user",
        entity_id=created.id,
        details={"email": created.email, "role": created.role},
    )
    await mailer.send(
        created.email, *mail.staff_invitation(mailer.link("reset-password", raw), created.role)
    )
