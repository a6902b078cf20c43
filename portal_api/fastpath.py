"""The fast path: consumers' reads of the busiest pages, served without
FastAPI's routing and dependency solving.

A consumption page, the readings history and the yearly summary are what
every consumer opens. Served by FastAPI, a quarter to a third of a worker's
CPU per page went to FastAPI's own work (routing, middleware, solving the
dependencies, inspecting and validating each query parameter): the API's CPU
per request fell by that much in the benchmark with this module
(docs/portal.md, Performance). ``FastPath`` sits in front of the routes and
answers a GET of an endpoint marked ``@fast_path`` itself when it can answer
exactly as the route would:

- the path is the route's and the caller is a consumer linked to that
  account: the route's own check (``deps.consumer_caller``), which takes a
  caller this process remembers (``security.callers``) or looks it up and
  remembers it;
- every query parameter the route declares is absent (its default) or given
  once and valid. It is validated with the route's own annotation
  (``Annotated[type, Query(...)]``, constraints included), through pydantic
  as FastAPI does; parameters the route does not declare are ignored, as
  FastAPI ignores them;
- the endpoint runs on a pooled connection in autocommit, as ``deps.Conn``
  gives a read, and returns a response.

Anything else goes to FastAPI untouched: no or a bad credential, a
refused caller, someone else's account, an unknown metering point, a
repeated or invalid parameter, a ``ProblemError`` or a data error raised by
the endpoint (the route runs again and renders the problem; these reads
change nothing but a session's last use, and an idle session's end, which
the route's lookup then finds as it left them). So every refusal, and every
answer's shape, is the route's own; ``tests/portal/test_fastpath.py`` sends
the same requests with and without the fast path and requires the same
status, headers and body. Any other exception reaches the server-error
handler, as it would from the route.

The endpoints take the same arguments either way: the request, the point
(``deps.AccountPoint``), the connection (``deps.Conn``) and query parameters.
An endpoint marked ``@fast_path`` with any other parameter is refused when the
app starts. ``METERGATE_FAST_PATH=false`` turns the fast path off.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_args, get_origin

from fastapi.params import Depends, Query
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from ingest.store import Store
from portal_api import deps, errors

E = TypeVar("E", bound=Callable[..., Awaitable[Response]])

_MARKED: set[Callable[..., Awaitable[Response]]] = set()
_ACCOUNT_NUMBER = re.compile(deps.ACCOUNT_NUMBER).fullmatch


def fast_path(endpoint: E) -> E:
    """Mark a GET endpoint of a consumer's point (see the module) as one the
    fast path may serve. Put it below the route decorator."""
    _MARKED.add(endpoint)
    return endpoint


class _Skip(Exception):
    """The fast path cannot answer this request; the route will."""


@dataclass(frozen=True, slots=True)
class _Param:
    """One query parameter of an endpoint."""

    name: str
    alias: str
    default: Any
    many: bool
    adapter: TypeAdapter[Any]

    def value(self, query: QueryParams) -> Any:
        given = query.getlist(self.alias)
        if not given:
            return self.default
        if self.many:
            return self._valid(given)
        if len(given) > 1:
            raise _Skip
        return self._valid(given[0])

    def _valid(self, value: object) -> Any:
        try:
            return self.adapter.validate_python(value)
        except ValidationError:
            raise _Skip from None


_EIC = _Param("eic", "eic", None, False, TypeAdapter(deps.EicQuery))
"""``deps.AccountPoint``'s own query parameter."""


@dataclass(frozen=True, slots=True)
class _Route:
    """An endpoint the fast path serves, and how to call it."""

    path: re.Pattern[str]
    endpoint: Callable[..., Awaitable[Response]]
    request: str | None
    point: str
    conn: str
    params: tuple[_Param, ...]


@dataclass(slots=True)
class Counts:
    """What the fast path did in this process (``app.state.fast_path``)."""

    served: int = 0
    passed: int = 0
    """Requests to a fast-path route that it left to FastAPI."""


class FastPath:
    """ASGI middleware: serve the marked endpoints' GETs that it can (see the
    module), pass everything else on."""

    def __init__(
        self, app: ASGIApp, *, routes: Iterable[tuple[str, APIRoute]], counts: Counts
    ) -> None:
        """``routes``: the API's routes with their paths as mounted; the marked
        ones are served."""
        self.app = app
        self.routes = tuple(_route(path, r) for path, r in routes if r.endpoint in _MARKED)
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            for route in self.routes:
                match = route.path.match(scope["path"])
                if match is None:
                    continue
                response = await _answer(route, match["account_number"], scope, receive)
                if response is None:
                    self.counts.passed += 1
                    break
                self.counts.served += 1
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _answer(route: _Route, number: str, scope: Scope, receive: Receive) -> Response | None:
    """The route's response, or None when the fast path cannot give it."""
    if not _ACCOUNT_NUMBER(number):
        return None
    request = Request(scope, receive)
    query = request.query_params
    try:
        eic = _EIC.value(query)
        arguments = {p.name: p.value(query) for p in route.params}
    except _Skip:
        return None
    store: Store = request.app.state.store
    conn = await store.pool.getconn()
    try:
        caller = await deps.consumer_caller(request, conn, number)
        point = deps.pick_point(caller.points, eic)
        if point is None:
            return None
        arguments[route.point] = point
        arguments[route.conn] = conn
        if route.request is not None:
            arguments[route.request] = request
        return await route.endpoint(**arguments)
    except errors.RENDERED:  # the route renders these; anything else is a 500 either way
        return None
    finally:
        await store.pool.putconn(conn)


def _route(path: str, route: APIRoute) -> _Route:
    """How to call ``route``'s endpoint on the fast path; TypeError if it takes
    anything but the request, the point, the connection and query parameters,
    or is not a GET under ``{account_number}``."""
    where = f"{path} ({route.endpoint.__qualname__})"
    regex, _, convertors = compile_path(path)
    if route.methods != {"GET"} or "account_number" not in convertors:
        raise TypeError(f"{where}: the fast path serves GETs of an account's point only")
    hints = typing.get_type_hints(route.endpoint, include_extras=True)
    roles: dict[str, str] = {}
    params: list[_Param] = []
    for name, parameter in inspect.signature(route.endpoint).parameters.items():
        hint = hints[name]
        role = _role(hint)
        if role is not None:
            roles[role] = name
        elif (query := _query(hint)) is not None:
            if parameter.default is inspect.Parameter.empty:
                raise TypeError(f"{where}: query parameter {name} has no default")
            params.append(
                _Param(
                    name=name,
                    alias=query.alias or name,
                    default=parameter.default,
                    many=_is_list(get_args(hint)[0]),
                    adapter=TypeAdapter(hint),
                )
            )
        else:
            raise TypeError(f"{where}: the fast path cannot supply parameter {name}")
    if "point" not in roles or "conn" not in roles:
        raise TypeError(f"{where}: the fast path needs deps.AccountPoint and deps.Conn")
    return _Route(
        path=regex,
        endpoint=route.endpoint,
        request=roles.get("request"),
        point=roles["point"],
        conn=roles["conn"],
        params=tuple(params),
    )


def _dependency(alias: Any) -> Any:
    """The callable of a ``deps`` alias ``Annotated[T, Depends(callable)]``."""
    return next(m.dependency for m in get_args(alias)[1:] if isinstance(m, Depends))


_DEPENDENCIES = {_dependency(deps.AccountPoint): "point", _dependency(deps.Conn): "conn"}


def _role(hint: Any) -> str | None:
    """Which argument the fast path supplies itself: the request, the point
    or the connection; None for anything else."""
    if hint is Request:
        return "request"
    if get_origin(hint) is not Annotated:
        return None
    for meta in get_args(hint)[1:]:
        if isinstance(meta, Depends):
            return _DEPENDENCIES.get(meta.dependency)
    return None


def _query(hint: Any) -> Query | None:
    if get_origin(hint) is not Annotated:
        return None
    return next((m for m in get_args(hint)[1:] if isinstance(m, Query)), None)


def _is_list(annotation: Any) -> bool:
    """``list[...]`` or ``list[...] | None``."""
    if get_origin(annotation) is list:
        return True
    return any(get_origin(a) is list for a in get_args(annotation))
