"""``page_link`` gives what starlette's ``include_query_params`` gives."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from portal_api.links import page_link

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
_PAIRS = st.lists(st.tuples(st.sampled_from(["page", "cursor", "eic", "source", "x y"]), _TEXT))


def _request(query: bytes, root_path: str = "") -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "https",
            "server": ("portal.example", 443),
            "root_path": root_path,
            "path": root_path + "/api/v1/accounts/10000001/history/readings",
            "query_string": query,
            "headers": [(b"host", b"portal.example")],
        }
    )


@given(_PAIRS, st.sampled_from(["page", "cursor", "new"]), _TEXT | st.integers())
def test_page_link_is_starlettes_link(
    pairs: list[tuple[str, str]], key: str, value: object
) -> None:
    request = _request(urlencode(pairs).encode())
    expected = str(request.url.include_query_params(**{key: value}))
    assert page_link(request, **{key: value}) == expected


def test_page_link_replaces_every_value_and_keeps_the_rest() -> None:
    request = _request(b"source=auto&page=2&source=consumer&page=3", root_path="/portal")
    assert page_link(request, page=4) == (
        "https://portal.example/portal/api/v1/accounts/10000001/history/readings"
        "?source=auto&source=consumer&page=4"
    )
