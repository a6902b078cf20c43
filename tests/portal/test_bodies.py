"""The hot pages are serialized from plain fields, without validation
(``portal_api.bodies``): each body must be exactly what its response model
gives for it: every field present, defaults included, names by alias, values
of the declared types."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter

from drivers.domain import KYIV
from ingest.reconcile import reconcile
from portal_api.bodies import json_body
from portal_api.schemas import common
from portal_api.schemas.accounts import Zone
from portal_api.schemas.common import KWH_PATTERN, kwh, kyiv_text
from portal_api.schemas.consumption import ConsumptionPage, YearSummary
from portal_api.schemas.history import ReadingsPage
from tests.portal.world import Household, Portal, World, add_household, add_reads

START = datetime(2026, 1, 1, tzinfo=KYIV)
END = datetime(2026, 3, 10, tzinfo=KYIV)


def _energy(register: int, at: datetime) -> int:
    """Day 100 Wh and night 200 Wh a slot; one implausible drop on night (an
    unknown zone figure, null in the body)."""
    if register == 2 and at == datetime(2026, 2, 3, 12, tzinfo=KYIV):
        return -40_000_000
    return 100 * register


@pytest.fixture
async def home(portal: Portal) -> tuple[httpx.AsyncClient, Household]:
    home = add_household(portal.url, 41, plan="two_zone", registers=(1, 2))
    add_reads(
        portal.url,
        home.meter_id,
        registers=(1, 2),
        start=START,
        end=END,
        first_wh=60_000_000,
        per_slot_wh=_energy,
    )
    reconcile(portal.url, period=date(2026, 1, 1), now=END)  # January billed, the rest metered
    portal.add_user("bodies@example.com", accounts=[home.account_id])
    return await portal.bearer("bodies@example.com"), home


def _as_model(response: httpx.Response, model: type[BaseModel]) -> dict[str, Any]:
    """The body, checked to be the model's own JSON for it."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(response.content)
    parsed = model.model_validate_json(response.content, strict=False)
    assert parsed.model_dump(mode="json", by_alias=True) == body
    return body


@pytest.mark.parametrize(
    "params",
    [
        {"group_by": "day", "period_from": "2026-02-01", "period_to": "2026-02-08", "page_size": 3},
        {"group_by": "day", "period_from": "2026-02-01", "period_to": "2026-02-08",
         "page_size": 3, "page": 2, "order_by": "period"},
        {"group_by": "month", "period_from": "2026-01-01", "period_to": "2026-04-01"},
        {"group_by": "hour", "period_from": "2026-02-03T10:00", "period_to": "2026-02-03T14:00"},
    ],
)  # fmt: skip
async def test_consumption_page_is_its_model(
    home: tuple[httpx.AsyncClient, Household], params: dict[str, Any]
) -> None:
    client, h = home
    body = _as_model(
        await client.get(f"/api/v1/accounts/{h.number}/consumption", params=params),
        ConsumptionPage,
    )
    assert body["unit"] == "kWh"
    assert body["results"], "a page with rows"
    if params["group_by"] == "hour":
        assert None in [z["consumption"] for r in body["results"] for z in r["zones"]]
    if params.get("page") == 2:
        assert body["next"]
        assert body["previous"]


async def test_analyst_consumption_page_is_its_model(
    home: tuple[httpx.AsyncClient, Household], world: World
) -> None:
    _, h = home
    response = await world.clients["analyst"].get(
        f"/api/v1/analyst/points/{h.eic}/consumption",
        params={"group_by": "week", "period_from": "2026-01-05", "period_to": "2026-02-02"},
    )
    assert len(_as_model(response, ConsumptionPage)["results"]) == 4


async def test_readings_page_is_its_model(home: tuple[httpx.AsyncClient, Household]) -> None:
    client, h = home
    path = f"/api/v1/accounts/{h.number}/history/readings"
    params = {"period_from": "2026-03-09", "period_to": "2026-03-11", "page_size": 50}
    first = _as_model(await client.get(path, params=params), ReadingsPage)
    assert len(first["results"]) == 50
    assert first["next"]
    assert first["results"][0]["register"] in (1, 2)
    second = _as_model(await client.get(first["next"]), ReadingsPage)
    assert datetime.fromisoformat(second["results"][0]["read_at"]) <= datetime.fromisoformat(
        first["results"][-1]["read_at"]
    )


async def test_yearly_summary_is_its_model(home: tuple[httpx.AsyncClient, Household]) -> None:
    client, h = home
    body = _as_model(
        await client.get(f"/api/v1/accounts/{h.number}/consumption/yearly", params={"year": 2026}),
        YearSummary,
    )
    assert [m["basis"] for m in body["months"][:4]] == ["billed", "metered", "metered", None]
    assert body["zones"] == [{"register": 1, "zone": "day"}, {"register": 2, "zone": "night"}]
    assert [s["zone"] for s in body["chart"]["series"]] == ["day", "night"]
    assert body["months"][0]["interval_end"] == "2026-02-01T00:00:00+02:00"
    assert body["months"][3]["interval_start"] == "2026-04-01T00:00:00+03:00"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_kwh_text_is_exact(wh: int) -> None:
    text = kwh(wh)
    assert re.fullmatch(KWH_PATTERN, text)
    assert Decimal(text) == Decimal(wh) / 1000


@pytest.mark.parametrize(
    ("wh", "text"),
    [(0, "0.000"), (7, "0.007"), (999, "0.999"), (1000, "1.000"), (12345, "12.345"),
     (-1, "-0.001"), (-1500, "-1.500")],
)  # fmt: skip
def test_kwh_text(wh: int, text: str) -> None:
    assert kwh(wh) == text


_DATETIME = TypeAdapter(datetime)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31),
        timezones=st.sampled_from([UTC, KYIV]),
    )
)
def test_kyiv_text_is_what_the_model_gives(at: datetime) -> None:
    """Across DST changes, with and without microseconds, from UTC or Kyiv
    times (a Kyiv wall time that does not exist, in the hour skipped in March,
    is written as the instant it stands for)."""
    expected = _DATETIME.dump_json(at.astimezone(UTC).astimezone(KYIV)).decode().strip('"')
    assert kyiv_text(at) == expected
    assert kyiv_text(at) == expected  # remembered
    assert datetime.fromisoformat(expected).timestamp() == at.timestamp()  # the same instant


def test_kyiv_text_tells_the_repeated_hour_apart() -> None:
    """03:30 on 25 October 2026 happens twice in Kyiv; the two compare equal
    as Kyiv times, and must not share a text."""
    first = datetime(2026, 10, 25, 3, 30, tzinfo=KYIV)
    second = first.replace(fold=1)
    assert kyiv_text(first) == "2026-10-25T03:30:00+03:00"
    assert kyiv_text(second) == "2026-10-25T03:30:00+02:00"
    assert kyiv_text(first) == "2026-10-25T03:30:00+03:00"


@pytest.mark.parametrize(
    ("at", "text"),
    [(datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "2026-03-29T02:59:00+02:00"),
     (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "2026-03-29T04:00:00+03:00"),
     (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-25T03:30:00+03:00"),
     (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "2026-10-25T03:30:00+02:00")],
)  # fmt: skip
def test_kyiv_text_across_dst(at: datetime, text: str) -> None:
    assert kyiv_text(at) == text


def test_kyiv_text_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "_KYIV_TEXT", {})
    monkeypatch.setattr(common, "_KYIV_TEXT_SIZE", 3)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    texts = [kyiv_text(start + timedelta(hours=h)) for h in range(5)]
    assert len(common._KYIV_TEXT) <= 3
    assert texts[-1] == "2026-01-01T06:00:00+02:00"


def test_json_body_writes_models_by_alias_and_refuses_the_unknown() -> None:
    body = json_body({"zones": [Zone(register=1, zone="day")], "at": None})
    assert json.loads(body.body) == {"zones": [{"register": 1, "zone": "day"}], "at": None}
    with pytest.raises(TypeError):
        json_body({"energy": {1, 2}})
