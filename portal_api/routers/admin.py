"""Admins: staff logins and the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from ingest.portal import audit
from ingest.portal import sessions as sessions_sql
from ingest.portal import users as users_sql
from ingest.portal.users import User
from portal_api.deps import AdminUser, Conn, MailerDep, SettingsDep, actor
from portal_api.errors import conflict, not_found, responses
from portal_api.invitations import invite_staff
from portal_api.schemas.staff import AuditOut, StaffUserIn, StaffUserPatch, UserRow

router = APIRouter(prefix="/admin", tags=["admin"])


def _row(u: User) -> UserRow:
    return UserRow(
        id=u.id,
        email=u.email,
        role=u.role,
        confirmed=u.confirmed_at is not None,
        disabled=u.disabled_at is not None,
        created_at=u.created_at,
    )


@router.get("/users", summary="Logins, optionally of one role", responses=responses(401, 403, 422))
async def list_users(
    user: AdminUser,
    conn: Conn,
    role: Annotated[Literal["consumer", "operator", "analyst", "admin"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> list[UserRow]:
    return [_row(u) for u in await users_sql.listing(conn, role=role, limit=limit, offset=offset)]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    summary="Create a staff login; a set-password link is mailed",
    responses=responses(401, 403, 409, 422, 503),
)
async def create_user(
    body: StaffUserIn, user: AdminUser, conn: Conn, settings: SettingsDep, mailer: MailerDep
) -> UserRow:
    created = await users_sql.create_staff(conn, body.email, body.role)
    if created is None:
        raise conflict("email-taken", "a login with this e-mail exists")
    await invite_staff(conn, created, actor=actor(user), settings=settings, mailer=mailer)
    return _row(created)


@router.patch(
    "/users/{user_id}",
    summary="Change a role or disable a login",
    responses=responses(401, 403, 404, 422),
)
async def update_user(user_id: int, body: StaffUserPatch, user: AdminUser, conn: Conn) -> UserRow:
    updated = await users_sql.update_staff(conn, user_id, role=body.role, disabled=body.disabled)
    if updated is None:
        raise not_found("no such user")
    if body.disabled or body.role is not None:
        await sessions_sql.delete_for_user(conn, user_id)
    await audit.record(
        conn,
        actor=actor(user),
        action="user.update",
        entity="user",
        entity_id=user_id,
        details=body.model_dump(exclude_none=True),
    )
    return _row(updated)


@router.get("/audit", summary="The audit log, newest first", responses=responses(401, 403, 422))
async def audit_log(
    user: AdminUser,
    conn: Conn,
    entity: Annotated[str | None, Query(max_length=64)] = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    rows = await audit.entries(
        conn, entity=entity, entity_id=entity_id, limit=limit, before_id=before_id
    )
    return [
        AuditOut(
            id=e.id,
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            details=e.details,
        )
        for e in rows
    ]
