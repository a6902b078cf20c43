"""The routes' dependencies, as ``Annotated`` aliases, in one place.

Authentication: ``Authorization: Bearer <token>`` (API clients) or the
``mg_session`` cookie (browsers); the store keeps only the token's SHA-256. A
cookie-authenticated request that changes state (POST, PUT, PATCH, DELETE)
must carry the session's CSRF token in ``X-CSRF-Token``; a bearer request need
not (a browser never adds that header on its own). Account-scoped routes
resolve ``{account_number}`` among the caller's linked accounts only: anyone
else's account is a 404, exactly like one that does not exist.

Every dependency is ``async def``, even where it awaits nothing: FastAPI runs a
plain ``def`` dependency in a worker thread, a thread hand-off per request.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, NamedTuple, TypeVar

import psycopg
from fastapi import Depends, Path, Query, Request
from fastapi.dependencies.models import Dependant
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from ingest.portal import accounts as accounts_sql
from ingest.portal import sessions as sessions_sql
from ingest.portal.accounts import LinkedAccount, Point
from ingest.portal.sessions import Kind, SessionUser
from ingest.portal.users import Role
from ingest.store import Store
from portal_api.errors import ProblemError, forbidden, not_found, unauthorized
from portal_api.mail import Mailer
from portal_api.security.callers import Callers
from portal_api.security.passwords import Passwords
from portal_api.security.tokens import same, token_hash
from portal_api.settings import PortalSettings

SESSION_COOKIE = "mg_session"
CSRF_COOKIE = "mg_csrf"
CSRF_HEADER = "X-CSRF-Token"
ACCOUNT_NUMBER = r"^[0-9A-Za-z-]{1,32}$"
EIC_PATTERN = r"^[0-9A-Za-z-]{16}$"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _settings(request: Request) -> PortalSettings:
    settings: PortalSettings = request.app.state.settings
    return settings


async def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def _mailer(request: Request) -> Mailer:
    mailer: Mailer = request.app.state.mailer
    return mailer


async def _passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


SettingsDep = Annotated[PortalSettings, Depends(_settings)]
StoreDep = Annotated[Store, Depends(_store)]
MailerDep = Annotated[Mailer, Depends(_mailer)]
PasswordsDep = Annotated[Passwords, Depends(_passwords)]


async def _connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection[TupleRow]]:
    """One pooled connection per request. A read (GET, HEAD) runs in
    autocommit, the mode the app's pool hands connections out in: no
    BEGIN/COMMIT round trips on the hot paths. A state-changing request runs
    in one transaction: committed when the route returns (before the response
    is sent), rolled back when it raises.

    The connection is taken with ``getconn``/``putconn``, not the pool's
    ``connection()``, which also enters the connection's own context: a
    ``commit`` call on every exit. That call, like each ``set_autocommit``,
    goes through psycopg's wait machinery with the connection's lock even when
    it sends nothing: ~0.1 M instructions apiece, where a day page costs ~6 M.
    ``putconn`` still checks the connection: one left broken or inside a
    transaction is rolled back or replaced. (The store is read off the app
    here, not through ``StoreDep``: every dependency is a step FastAPI solves
    on every request, and this one is on all of them.)"""
    store: Store = request.app.state.store
    conn = await store.pool.getconn()
    try:
        if request.method in _SAFE_METHODS:
            yield conn
            return
        await conn.set_autocommit(False)
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(psycopg.Error):  # a broken one: putconn replaces it
                await conn.rollback()
            raise
        else:
            await conn.commit()
        finally:
            try:
                await conn.set_autocommit(True)
            except psycopg.Error:
                await conn.close()  # never hand the pool a connection outside autocommit
    finally:
        await store.pool.putconn(conn)


Conn = Annotated[psycopg.AsyncConnection[TupleRow], Depends(_connection, scope="function")]


async def _client_address(request: Request) -> str:
    """The client's address as the server sees it (uvicorn's --proxy-headers and
    --forwarded-allow-ips decide whether X-Forwarded-For is believed)."""
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(_client_address)]

SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from `POST /api/v1/auth/token`.",
    },
    "cookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "Set by `POST /api/v1/auth/login`. State-changing requests must also send "
        f"the session's CSRF token in `{CSRF_HEADER}`.",
    },
}
"""How a caller authenticates, as the OpenAPI document declares it on every
route that reads the caller's session (``authenticated``)."""


def _bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme in any
    case), else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if token and scheme.lower() == "bearer" else None


def _credentials(request: Request) -> tuple[str, Kind] | None:
    """The caller's raw token and its kind: a bearer token first, else the
    session cookie; None without either."""
    token = _bearer_token(request.headers.get("authorization"))
    if token is not None:
        return token, "bearer"
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, "cookie") if cookie else None


T = TypeVar("T")


async def _committed(conn: Conn, lookup: Callable[[], Coroutine[None, None, T]]) -> T:
    """Run a session lookup (it may end an idle session or refresh its last
    use). A state-changing request runs in one transaction; the lookup commits
    on its own before the route starts, so that those writes stick even when
    the request is then refused."""
    if conn.autocommit or conn.info.transaction_status != TransactionStatus.IDLE:
        return await lookup()
    async with conn.transaction():
        return await lookup()


def _check_csrf(request: Request, session: SessionUser) -> None:
    """A cookie session's state-changing request must carry its CSRF token."""
    if (
        session.kind == "cookie"
        and request.method not in _SAFE_METHODS
        and not same(request.headers.get(CSRF_HEADER), session.csrf_token)
    ):
        raise ProblemError(
            403, "csrf", "CSRF check failed", f"send the session's CSRF token in {CSRF_HEADER}"
        )


async def _principal(request: Request, conn: Conn) -> SessionUser | None:
    """The caller's live session: a bearer token first, else the session cookie
    (an expired or idle one is deleted). (The credentials are read here rather
    than through FastAPI's security dependencies, two dependency steps fewer on
    every authenticated request; ``SECURITY_SCHEMES`` puts them in the OpenAPI
    document.)"""
    credentials = _credentials(request)
    if credentials is None:
        return None
    token, kind = credentials
    idle = request.app.state.settings.session_idle_timeout

    async def lookup() -> SessionUser | None:
        return await sessions_sql.authenticate(conn, token_hash(token), kind=kind, idle=idle)

    session = await _committed(conn, lookup)
    if session is not None:
        _check_csrf(request, session)
    return session


Principal = Annotated[SessionUser | None, Depends(_principal)]


def authenticated(dependant: Dependant) -> bool:
    """Whether a route (its ``dependant``) reads the caller's session."""
    return any(
        d.call in (_principal, _consumer_points) or authenticated(d) for d in dependant.dependencies
    )


async def _user(principal: Principal) -> SessionUser:
    if principal is None:
        raise unauthorized()
    return principal


CurrentUser = Annotated[SessionUser, Depends(_user)]


def _role(*roles: Role) -> Callable[[SessionUser | None], Coroutine[None, None, SessionUser]]:
    async def check(principal: Principal) -> SessionUser:
        if principal is None:
            raise unauthorized()
        if principal.role not in roles:
            raise forbidden()
        return principal

    return check


ConsumerUser = Annotated[SessionUser, Depends(_role("consumer"))]
StaffUser = Annotated[SessionUser, Depends(_role("operator", "admin"))]
AnalystUser = Annotated[SessionUser, Depends(_role("analyst", "admin"))]
AdminUser = Annotated[SessionUser, Depends(_role("admin"))]

AccountNumber = Annotated[
    str,
    Path(
        pattern=ACCOUNT_NUMBER,
        description="A personal account number linked to the caller.",
        examples=["10000001"],
    ),
]


async def _account(account_number: AccountNumber, user: ConsumerUser, conn: Conn) -> LinkedAccount:
    account = await accounts_sql.linked_account(conn, user_id=user.user_id, number=account_number)
    if account is None:
        raise not_found("no such account among yours")
    return account


Account = Annotated[LinkedAccount, Depends(_account)]
"""The caller's account named in the path (404 for anyone else's)."""


class CallerPoints(NamedTuple):
    user: SessionUser
    points: list[Point]
    """The metering points of the account in the path, if it is the caller's."""


async def _consumer_points(request: Request, conn: Conn) -> CallerPoints:
    """``consumer_caller`` for the account in the path. It runs before the path
    is validated, as ``ConsumerUser`` does, so a caller without a session gets
    401 whatever the path; the number reaches the query as a parameter."""
    return await consumer_caller(request, conn, str(request.path_params.get("account_number", "")))


async def consumer_caller(
    request: Request, conn: psycopg.AsyncConnection[TupleRow], number: str
) -> CallerPoints:
    """The caller's session, checked as ``ConsumerUser`` checks it (401, 403),
    and the points of account ``number`` if it is linked to the caller: one
    statement where the two lookups were two. A read (GET, HEAD) takes a
    caller remembered by this process when there is one
    (``security.callers``: kept true by the store's change notices); a
    successful read's lookup is remembered. (Also the fast path's,
    ``portal_api.fastpath``.)"""
    credentials = _credentials(request)
    if credentials is None:
        raise unauthorized()
    token, kind = credentials
    hashed = token_hash(token)
    callers: Callers[CallerPoints] = request.app.state.callers
    key = (hashed, kind, number)
    since: int | None = None  # a read's starting point: only reads are remembered
    if request.method in _SAFE_METHODS:
        if (known := callers.get(key)) is not None:
            return known
        since = callers.since()
    idle = request.app.state.settings.session_idle_timeout

    async def lookup() -> tuple[SessionUser | None, list[Point]]:
        return await accounts_sql.consumer_points(conn, hashed, kind=kind, idle=idle, number=number)

    user, points = await _committed(conn, lookup)
    if user is None:
        raise unauthorized()
    _check_csrf(request, user)
    if user.role != "consumer":
        raise forbidden()
    caller = CallerPoints(user, points)
    if since is not None and points:
        callers.put(key, caller, user_id=user.user_id, expires_at=user.expires_at, since=since)
    return caller


AccountCaller = Annotated[CallerPoints, Depends(_consumer_points)]
"""The consumer calling, with the points of the account in the path (see
``AccountPoint``); for routes that need the caller as well as the point."""

EicQuery = Annotated[
    str | None,
    Query(
        pattern=EIC_PATTERN,
        description="The metering point (EIC) when the account has several; default the first.",
        examples=["62Z0000000000017"],
    ),
]


async def _point(
    account_number: AccountNumber, caller: AccountCaller, eic: EicQuery = None
) -> Point:
    """The point asked for among ``caller.points``. ``account_number`` is
    declared to be validated and documented; the lookup read it from the path."""
    point = pick_point(caller.points, eic)
    if point is None:
        raise not_found("no such account among yours, or no such metering point on it")
    return point


def pick_point(points: list[Point], eic: str | None) -> Point | None:
    """The point with ``eic`` (any case) among ``points``, else the first; None
    when there is none."""
    if eic is not None:
        points = [p for p in points if p.eic == eic.upper()]
    return points[0] if points else None


AccountPoint = Annotated[Point, Depends(_point)]
"""A metering point of the caller's account (``?eic=`` picks one of several)."""


def actor(user: SessionUser) -> str:
    """How the audit log names a user."""
    return f"user:{user.user_id}"
