"""Links to the neighbouring pages of a listing (``next``, ``previous``).

What starlette's ``request.url.include_query_params`` gives, built without
going through its ``MultiDict`` and ``URL.replace``: a history page spent
~4 % of its worker time on that one link."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request


def page_link(request: Request, **changes: object) -> str:
    """This request's URL with the query parameters in ``changes`` set (each
    replaces every value it had and moves to the end, as starlette does)."""
    base, _, query = str(request.url).partition("?")
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in changes]
    pairs += [(k, str(v)) for k, v in changes.items()]
    return f"{base}?{urlencode(pairs)}"
