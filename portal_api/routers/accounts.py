"""Personal accounts of a login: activate (P4), several per login and the
active one (P19), the home page (P7), equipment (P13)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from ingest.portal import accounts as accounts_sql
from portal_api import points
from portal_api.deps import Account, ClientAddress, Conn, ConsumerUser, SettingsDep
from portal_api.errors import ProblemError, conflict, responses
from portal_api.schemas.accounts import (
    AccountOut,
    Activated,
    Activation,
    Equipment,
    Home,
    account_out,
)
from portal_api.security.throttle import Limit, guard

router = APIRouter(prefix="/accounts", tags=["accounts"])


@router.get("", summary="The caller's personal accounts (P19)", responses=responses(401, 403))
async def list_accounts(user: ConsumerUser, conn: Conn) -> list[AccountOut]:
    return [account_out(a) for a in await accounts_sql.linked_accounts(conn, user.user_id)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Activate a personal account (P4, P19)",
    responses=responses(401, 403, 409, 422, 429),
)
async def activate(
    body: Activation,
    user: ConsumerUser,
    conn: Conn,
    settings: SettingsDep,
    address: ClientAddress,
    response: Response,
) -> Activated:
    """Account number plus the meter's serial number or the last 5 characters of
    the point's EIC. Those 5 characters include the check character, so they are
    a weak secret: failed attempts are throttled per login and per address."""
    limits = [
        Limit(f"activate:user:{user.user_id}", settings.activation_limit_per_account),
        Limit(f"activate:addr:{address}", settings.activation_limit_per_address),
    ]
    async with guard(conn, limits, settings.activation_window) as attempt:
        found = await accounts_sql.find_for_activation(
            conn, number=body.account_number, serial=body.meter_serial, eic_tail=body.eic_last5
        )
        if found is None:
            raise ProblemError(
                422,
                "activation-failed",
                "Activation failed",
                "no personal account matches this number and meter serial or EIC",
            )
        await attempt.succeeded()
    if not await accounts_sql.link(conn, user_id=user.user_id, account_id=found.id):
        raise conflict("already-linked", "this account is linked to your login already")
    linked = await accounts_sql.linked_account(conn, user_id=user.user_id, number=found.number)
    assert linked is not None
    response.headers["Location"] = f"/api/v1/accounts/{found.number}"
    return Activated(
        account=account_out(linked),
        points=[points.summary(p) for p in await accounts_sql.points(conn, found.id)],
    )


@router.get(
    "/{account_number}",
    summary="Home page of an account (P7)",
    responses=responses(401, 403, 404),
)
async def home(account: Account, conn: Conn) -> Home:
    """Account number, holder's name, address and phone as the utility holds them."""
    return Home(
        number=account.number,
        holder_name=account.holder_name,
        address=account.address,
        phone=account.phone,
        email=account.email,
        active=account.active,
        points=[points.summary(p) for p in await accounts_sql.points(conn, account.id)],
    )


@router.put(
    "/{account_number}/active",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Make this account the active one (P19)",
    responses=responses(401, 403, 404),
)
async def make_active(account: Account, user: ConsumerUser, conn: Conn) -> None:
    """The active account is the default a client opens; every account-scoped
    route still names its account in the path, so any linked one can be used."""
    await accounts_sql.set_active(conn, user_id=user.user_id, account_id=account.id)


@router.delete(
    "/{account_number}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an account from this login",
    responses=responses(401, 403, 404),
)
async def unlink(account: Account, user: ConsumerUser, conn: Conn) -> None:
    await accounts_sql.unlink(conn, user_id=user.user_id, account_id=account.id)
    await accounts_sql.ensure_active(conn, user.user_id)


@router.get(
    "/{account_number}/equipment",
    summary="Equipment of the account's metering points (P13)",
    responses=responses(401, 403, 404),
)
async def equipment(account: Account, conn: Conn) -> list[Equipment]:
    """EIC, meter model and serial, install place, admission date, scales and
    zones, input breakers, permitted power."""
    return [points.equipment(p) for p in await accounts_sql.points(conn, account.id)]
