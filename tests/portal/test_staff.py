"""The staff side: warnings with the notice rule, news and services, contact
changes, appeals, controller readings, reconciliation; every write audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from drivers.domain import KYIV
from portal_api.workdays import add_working_days, earliest_disconnection
from tests.portal.world import World, add_reads


def test_working_days_skip_weekends_and_holidays() -> None:
    monday = date(2026, 3, 2)
    assert add_working_days(monday, 10, ()) == date(2026, 3, 16)
    assert earliest_disconnection(monday, 10, ()) == date(2026, 3, 17)
    assert add_working_days(date(2026, 3, 6), 1, ()) == date(2026, 3, 9)  # Friday -> Monday
    assert add_working_days(monday, 10, [date(2026, 3, 9)]) == date(2026, 3, 17)


@pytest.mark.parametrize(
    ("reason", "planned_on", "status"),
    [
        ("debt", "2026-03-16", 422),
        ("debt", "2026-03-17", 201),
        ("planned_works", "2026-03-03", 201),
        ("debt", "2026-03-02", 422),
    ],
)
async def test_the_ten_working_day_notice(
    world: World, reason: str, planned_on: str, status: int
) -> None:
    r = await world.clients["operator"].post(
        "/api/v1/staff/warnings",
        json={
            "account_number": world.b.number,
            "reason": reason,
            "message": "Увага",
            "issued_on": "2026-03-02",
            "planned_on": planned_on,
        },
    )
    assert r.status_code == status, r.text


async def test_every_staff_write_is_audited(world: World) -> None:
    op, portal = world.clients["operator"], world.portal
    ids = world.ids
    writes = [
        ("post", "/api/v1/staff/news", {"title": "T", "body": "B"}, "news.create"),
        ("put", f"/api/v1/staff/news/{ids['news']}", {"title": "T2", "body": "B2"}, "news.update"),
        ("delete", f"/api/v1/staff/news/{ids['news']}", None, "news.delete"),
        (
            "post",
            "/api/v1/staff/services",
            {"name": "S", "price_kop": 100, "unit": "шт"},
            "service.create",
        ),
        (
            "put",
            f"/api/v1/staff/services/{ids['service']}",
            {"name": "S2", "price_kop": 200, "unit": "шт"},
            "service.update",
        ),
        ("delete", f"/api/v1/staff/services/{ids['service']}", None, "service.delete"),
        (
            "patch",
            f"/api/v1/staff/warnings/{ids['warning']}",
            {"status": "cancelled"},
            "warning.status",
        ),
        (
            "patch",
            f"/api/v1/staff/contracts/{ids['contract']}",
            {"status": "terminated"},
            "contract.status",
        ),
        (
            "post",
            f"/api/v1/staff/contact-changes/{ids['contact_change']}/reject",
            {"note": "немає документів"},
            "contact_change.reject",
        ),
        (
            "post",
            f"/api/v1/staff/appeals/{ids['appeal']}/answers",
            {"text": "Так", "close": True},
            "appeal.answer",
        ),
    ]
    for method, path, body, action in writes:
        before = portal.audit_count()
        kwargs = {"json": body} if body is not None else {}
        r = await op.request(method.upper(), path, **kwargs)
        assert r.status_code < 300, (path, r.text)
        rows = portal.sql("SELECT action, actor FROM audit_log ORDER BY id DESC LIMIT 1")
        assert portal.audit_count() == before + 1
        assert rows[0] == (action, f"user:{ids['operator']}")


async def test_a_refused_write_leaves_no_audit_row(world: World) -> None:
    before = world.portal.audit_count()
    r = await world.clients["operator"].post(
        "/api/v1/staff/warnings",
        json={
            "account_number": world.b.number,
            "reason": "debt",
            "message": "x",
            "issued_on": "2026-03-02",
            "planned_on": "2026-03-03",
        },
    )
    assert r.status_code == 422
    assert world.portal.audit_count() == before


async def test_news_drafts_stay_with_staff(world: World) -> None:
    op, anon = world.clients["operator"], world.clients["anonymous"]
    r = await op.post("/api/v1/staff/news", json={"title": "Чернетка", "body": "..."})
    draft = r.json()["id"]
    assert (await anon.get(f"/api/v1/news/{draft}")).status_code == 404
    assert [n["title"] for n in (await anon.get("/api/v1/news")).json()["results"]] == ["Новина"]
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    await op.put(
        f"/api/v1/staff/news/{draft}",
        json={"title": "Завтра", "body": "...", "published_at": later},
    )
    assert (await anon.get(f"/api/v1/news/{draft}")).status_code == 404
    now = datetime.now(UTC).isoformat()
    await op.put(
        f"/api/v1/staff/news/{draft}",
        json={"title": "Сьогодні", "body": "...", "published_at": now},
    )
    assert (await anon.get(f"/api/v1/news/{draft}")).json()["title"] == "Сьогодні"


async def test_inactive_services_leave_the_public_list(world: World) -> None:
    op, anon = world.clients["operator"], world.clients["anonymous"]
    await op.put(
        f"/api/v1/staff/services/{world.ids['service']}",
        json={"name": "Заміна лічильника", "price_kop": 51000, "unit": "послуга", "active": False},
    )
    assert (await anon.get("/api/v1/services")).json() == []
    listed = (await op.get("/api/v1/staff/services")).json()
    assert [(s["price_kop"], s["price"], s["active"]) for s in listed] == [(51000, "510.00", False)]


async def test_a_contact_change_is_reviewed_once(world: World) -> None:
    op, a = world.clients["operator"], world.clients["consumer_a"]
    path = f"/api/v1/staff/contact-changes/{world.ids['contact_change']}"
    r = await op.post(f"{path}/reject", json={"note": "не підтверджено"})
    assert r.json()["status"] == "rejected"
    assert (await op.post(f"{path}/apply", json={})).status_code == 409
    home = (await a.get(f"/api/v1/accounts/{world.a.number}")).json()
    assert home["phone"] == "+380500000000"  # a rejected request changes nothing
    mine = (await a.get(f"/api/v1/accounts/{world.a.number}/contact-changes")).json()
    assert (mine[0]["status"], mine[0]["review_note"]) == ("rejected", "не підтверджено")


async def test_a_closed_appeal_takes_no_more_messages(world: World) -> None:
    op, a = world.clients["operator"], world.clients["consumer_a"]
    appeal = world.ids["appeal"]
    r = await op.post(
        f"/api/v1/staff/appeals/{appeal}/answers", json={"text": "Готово", "close": True}
    )
    assert r.json()["status"] == "closed"
    r = await a.post(
        f"/api/v1/accounts/{world.a.number}/appeals/{appeal}/messages", json={"text": "?"}
    )
    assert r.status_code == 409
    assert (
        await op.post(f"/api/v1/staff/appeals/{appeal}/answers", json={"text": "x"})
    ).status_code == 409
    closed = (await op.get("/api/v1/staff/appeals", params={"status": "closed"})).json()
    assert [c["id"] for c in closed] == [appeal]
    assert closed[0]["user_email"] == "a@example.com"


async def test_controller_csv_import_reports_bad_lines(world: World) -> None:
    op = world.clients["operator"]
    at = (datetime.now(KYIV) - timedelta(hours=3)).replace(minute=7, second=0, microsecond=0)
    value = int(
        world.portal.sql(
            "SELECT max(value_wh) FROM readings"
            " WHERE meter_id = %s AND register = 0 AND read_at <= %s",
            (world.b.meter_id, at),
        )[0][0]
    )  # type: ignore[call-overload]
    text = (
        "eic,meter,read_at,register,value_kwh,controller\n"
        f"{world.b.eic},{world.b.serial},{at.isoformat()},0,{value / 1000:.3f},Петренко\n"
        f"{world.b.eic},{world.b.serial},{at.isoformat()},0,1,Петренко\n"
        f"62Z9999999999999,SN-X,{at.isoformat()},0,5,Петренко\n"
    )
    r = await op.post(
        "/api/v1/staff/controller-readings/import",
        files={"file": ("round.csv", text.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["rows"], result["stored"]) == (3, 1)
    assert sorted(e["line"] for e in result["errors"]) == [3, 4]
    history = (
        await world.clients["consumer_b"].get(
            f"/api/v1/accounts/{world.b.number}/history/readings", params={"source": "controller"}
        )
    ).json()
    assert [h["value_wh"] for h in history["results"]] == [value]


async def test_a_controller_reading_below_the_meter_is_refused(world: World) -> None:
    r = await world.clients["operator"].post(
        "/api/v1/staff/controller-readings",
        json={"meter_serial": world.b.serial, "values": [{"register": 0, "value_kwh": "1"}]},
    )
    assert r.status_code == 422
    assert r.json()["reasons"]


async def test_reconciliation_review(world: World) -> None:
    op = world.clients["operator"]
    flags = (await op.get("/api/v1/staff/review-flags", params={"eic": world.a.eic})).json()
    assert [(f["id"], f["kind"]) for f in flags] == [(world.ids["flag"], "divergence")]
    r = await op.post(
        f"/api/v1/staff/review-flags/{world.ids['flag']}/resolve",
        json={"resolution": "checked on site"},
    )
    assert r.status_code == 204, r.text
    assert (await op.get("/api/v1/staff/review-flags", params={"eic": world.a.eic})).json() == []
    r = await op.post(
        f"/api/v1/staff/review-flags/{world.ids['flag']}/resolve", json={"resolution": "again"}
    )
    assert r.status_code == 404
    this_month = datetime.now(KYIV).strftime("%Y-%m")
    r = await op.post(f"/api/v1/staff/periods/{this_month}/close", json={})
    assert r.status_code == 409
    assert r.json()["type"].endswith("period-not-due")
    actions = [
        a[0]
        for a in world.portal.sql(
            "SELECT action FROM audit_log WHERE actor = %s", (f"user:{world.ids['operator']}",)
        )
    ]
    assert "flag.resolve" in actions


async def test_closing_and_correcting_a_period(world: World) -> None:
    """Two months back (clear of the world's own recent reads): reads around the
    cut-off, a forced close, then an operator correction makes a new version."""
    op = world.clients["operator"]
    first = datetime.now(KYIV).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    period_start = (first - timedelta(days=40)).replace(day=1)
    period_end = (period_start + timedelta(days=32)).replace(day=1)
    add_reads(
        world.portal.url,
        world.a.meter_id,
        registers=(1, 2),
        first_wh=1_000_000,
        start=period_start - timedelta(days=3),
        end=period_end + timedelta(days=3),
    )
    label = period_start.strftime("%Y-%m")
    r = await op.post(f"/api/v1/staff/periods/{label}/close", json={"force": True})
    assert r.status_code == 200, r.text
    assert r.json()["mode"] == "close"
    assert r.json()["periods"] == [label]
    r = await op.post(f"/api/v1/staff/periods/{label}/close", json={"force": True})
    assert r.status_code == 409
    assert r.json()["type"].endswith("period-closed")
    results = (
        await op.get(f"/api/v1/staff/points/{world.a.eic}/periods", params={"period_from": label})
    ).json()
    day = next(p for p in results if p["period"] == label and p["register"] == 1)
    assert day["period_status"] == "closed"
    assert day["closing_wh"] is not None
    corrected_wh = day["closing_wh"] + 1000
    r = await op.post(
        f"/api/v1/staff/periods/{label}/corrections",
        json={
            "eic": world.a.eic,
            "register": 1,
            "closing_kwh": str(corrected_wh / 1000),
            "reason": "фото контролера",
        },
    )
    assert r.status_code == 201, r.text
    after = (
        await op.get(
            f"/api/v1/staff/points/{world.a.eic}/periods",
            params={"period_from": label, "all_versions": True},
        )
    ).json()
    versions = [p for p in after if p["period"] == label and p["register"] == 1]
    assert versions[-1]["closing_wh"] == corrected_wh
    assert len(versions) >= 2
    actions = {a[0] for a in world.portal.sql("SELECT action FROM audit_log")}
    assert {"period.close", "period.correct"} <= actions
    billed = (
        await world.clients["consumer_a"].get(
            f"/api/v1/accounts/{world.a.number}/consumption/periods", params={"period_from": label}
        )
    ).json()
    assert billed[0]["period"] == label
    assert billed[0]["period_status"] == "closed"
