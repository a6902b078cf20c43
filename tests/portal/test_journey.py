"""The consumer cabinet guide's whole journey, over HTTP, as one story:
register -> e-mail -> password -> activate -> two-zone readings with a photo ->
consumption -> export (CSV, XLSX, Green Button) -> appeal -> staff answer ->
the user sees it -> contact change -> the operator applies it; plus contracts,
warnings, history, news, services and the profile on the way."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
from pypdf import PdfReader

from drivers.domain import KYIV
from portal_api.schemas.common import kwh
from tests.portal.helpers import exif_of, validate_espi
from tests.portal.world import PDF, Portal, add_household, add_reads, jpeg_with_exif

ESPI = "{http://naesb.org/espi}"


async def test_the_guide_journey(portal: Portal) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    home = add_household(portal.url, 7, plan="two_zone", registers=(1, 2))
    second = add_household(portal.url, 8, plan="single", registers=(0,))
    add_reads(portal.url, home.meter_id, registers=(1, 2), start=now - timedelta(days=40), end=now)
    portal.add_user("operator@utility.example", role="operator")
    op = await portal.bearer("operator@utility.example")

    # The operator publishes a service with its price and a news item.
    r = await op.post(
        "/api/v1/staff/services",
        json={"name": "Позачергове зняття показів", "price_kop": 24000, "unit": "послуга"},
    )
    assert r.status_code == 201, r.text
    r = await op.post(
        "/api/v1/staff/news",
        json={"title": "Графік прийому", "body": "Працюємо щодня", "published_at": now.isoformat()},
    )
    assert r.status_code == 201, r.text

    # P1, P20: before login, services with prices and the news.
    browser = portal.make_client(address="203.0.113.50")
    services = (await browser.get("/api/v1/services")).json()
    assert [(s["name"], s["price_kop"], s["price"]) for s in services] == [
        ("Позачергове зняття показів", 24000, "240.00")
    ]
    assert (await browser.get("/api/v1/news")).json()["results"][0]["title"] == "Графік прийому"

    # P2: registration needs both consents; a welcome mail carries the link.
    email = "olena@example.com"
    r = await browser.post(
        "/api/v1/auth/register",
        json={"email": email, "accept_terms": True, "accept_data_processing": False},
    )
    assert r.status_code == 422
    r = await browser.post(
        "/api/v1/auth/register",
        json={"email": email, "accept_terms": True, "accept_data_processing": True},
    )
    assert r.status_code == 202, r.text
    message = portal.mail.last_to(email)
    assert "https://cabinet.example.test/register/confirm#token=" in message.body
    token = message.token()

    # P3: the link's page sets the password twice; the link works once.
    r = await browser.post(
        "/api/v1/auth/confirm",
        json={
            "token": token,
            "password": "Volyn-2026-light",
            "password_confirm": "Volyn-2026-light",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["email"] == email
    r = await browser.post(
        "/api/v1/auth/confirm",
        json={
            "token": token,
            "password": "Volyn-2026-light",
            "password_confirm": "Volyn-2026-light",
        },
    )
    assert r.status_code == 404

    # Log in as a browser: HttpOnly session cookie + CSRF token for writes.
    r = await browser.post(
        "/api/v1/auth/login", json={"email": email, "password": "Volyn-2026-light"}
    )
    assert r.status_code == 200, r.text
    set_cookie = r.headers.get_list("set-cookie")
    assert any(
        c.startswith("mg_session=") and "HttpOnly" in c and "Secure" in c for c in set_cookie
    )
    csrf = r.json()["csrf_token"]
    assert (await browser.post("/api/v1/accounts", json={})).status_code == 403  # no CSRF header
    browser.headers["X-CSRF-Token"] = csrf

    # P4: activate with the account number and the last 5 characters of the EIC.
    r = await browser.post(
        "/api/v1/accounts", json={"account_number": home.number, "eic_last5": "00000"}
    )
    assert r.status_code == 422
    r = await browser.post(
        "/api/v1/accounts", json={"account_number": home.number, "eic_last5": home.eic[-5:]}
    )
    assert r.status_code == 201, r.text
    activated = r.json()
    assert activated["account"]["active"] is True
    assert activated["points"][0]["eic"] == home.eic
    assert [z["zone"] for z in activated["points"][0]["meter"]["zone_registers"]] == [
        "day",
        "night",
    ]
    # P19: a second account by meter serial; switch the active one and back.
    r = await browser.post(
        "/api/v1/accounts", json={"account_number": second.number, "meter_serial": second.serial}
    )
    assert r.status_code == 201, r.text
    assert (await browser.put(f"/api/v1/accounts/{second.number}/active")).status_code == 204
    listed = {a["number"]: a["active"] for a in (await browser.get("/api/v1/accounts")).json()}
    assert listed == {home.number: False, second.number: True}
    assert (await browser.put(f"/api/v1/accounts/{home.number}/active")).status_code == 204
    acc = f"/api/v1/accounts/{home.number}"

    # P7 home and P13 equipment.
    page = (await browser.get(acc)).json()
    assert (page["number"], page["holder_name"], page["phone"]) == (
        home.number,
        "Споживач 7",
        "+380500000000",
    )
    equipment = (await browser.get(f"{acc}/equipment")).json()[0]
    assert (equipment["meter"]["serial"], equipment["input_breaker"]) == (home.serial, True)
    assert equipment["permitted_power_kw"] == "7.00"

    # A controller read the meter mid-period (the operator enters it).
    slot = now - timedelta(days=10)
    day_wh, night_wh = (
        int(
            portal.sql(
                "SELECT value_wh FROM readings WHERE meter_id = %s AND register = %s"
                " AND read_at = %s",
                (home.meter_id, reg, slot),
            )[0][0]
        )  # type: ignore[call-overload]
        for reg in (1, 2)
    )
    r = await op.post(
        "/api/v1/staff/controller-readings",
        json={
            "eic": home.eic,
            "read_at": (slot + timedelta(minutes=7)).isoformat(),
            "values": [
                {"register": 1, "value_kwh": str(Decimal(day_wh) / 1000)},
                {"register": 2, "value_kwh": str(Decimal(night_wh) / 1000)},
            ],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["stored"] == 2, r.text

    # P5: the form, a live preview per zone, then the confirm step.
    form = (await browser.get(f"{acc}/readings/form")).json()
    assert (form["meter_serial"], form["zone_count"], form["digits"]) == (home.serial, 2, 6)
    assert form["install_place"] == "фасад будинку"
    values = [
        {"register": z["register"], "value_kwh": z["last"]["value_kwh"] + 0} for z in form["zones"]
    ]
    preview = (await browser.post(f"{acc}/readings/preview", json={"values": values})).json()
    assert preview["ok"] is True, preview
    by_zone = {z["zone"]: z for z in preview["zones"]}
    assert set(by_zone) == {"day", "night"}
    for zone, register_wh, reg in (("day", day_wh, 1), ("night", night_wh, 2)):
        typed = next(v["value_kwh"] for v in values if v["register"] == reg)
        assert by_zone[zone]["since_controller_kwh"] == kwh(typed * 1000 - register_wh)
    bad = [{"register": 1, "value_kwh": 1}, {"register": 2, "value_kwh": 1}]
    refused = (await browser.post(f"{acc}/readings/preview", json={"values": bad})).json()
    assert refused["ok"] is False
    assert refused["errors"]
    r = await browser.post(f"{acc}/readings", json={"values": bad})
    assert r.status_code == 422
    assert r.json()["reasons"]
    r = await browser.post(f"{acc}/readings", json={"values": values})
    assert r.status_code == 201, r.text
    submission_id = r.json()["submission_id"]

    # P6: a photo of the meter face confirms the submission; EXIF is gone.
    photo = jpeg_with_exif()
    assert exif_of(photo)  # the original carries GPS and a camera serial
    r = await browser.post(
        f"{acc}/readings/submissions/{submission_id}/photos",
        files={"photo": ("IMG_0042.jpg", photo, "image/jpeg")},
    )
    assert r.status_code == 201, r.text
    stored = await browser.get(
        f"{acc}/readings/submissions/{submission_id}/photos/{r.json()['id']}"
    )
    assert stored.headers["content-type"] == "image/jpeg"
    assert exif_of(stored.content) == {}
    assert b"CAMERA-SERIAL-0042" not in stored.content

    # P14: the history shows the consumer's and the controller's readings.
    history = (
        await browser.get(
            f"{acc}/history/readings",
            params={"source": ["consumer", "controller"], "page_size": 10},
        )
    ).json()
    assert sorted((h["source"], h["zone"]) for h in history["results"]) == [
        ("consumer", "day"),
        ("consumer", "night"),
        ("controller", "day"),
        ("controller", "night"),
    ]
    installs = (await browser.get(f"{acc}/history/installations")).json()
    assert [i["meter_serial"] for i in installs] == [home.serial]

    # P8, P12: consumption per day and zone (Octopus shape), exact kWh.
    r = await browser.get(
        f"{acc}/consumption",
        params={
            "period_from": (now - timedelta(days=7)).astimezone(KYIV).date().isoformat(),
            "group_by": "day",
            "order_by": "period",
            "page_size": 3,
        },
    )
    page = r.json()
    assert r.status_code == 200
    assert page["count"] >= 7
    assert page["next"]
    assert page["previous"] is None
    first = page["results"][0]
    assert {z["zone"]: z["consumption"] for z in first["zones"]} == {
        "day": "9.600",
        "night": "19.200",
    }
    assert first["consumption"] == "28.800"
    # P9: the year month by month with chart data.
    yearly = (
        await browser.get(f"{acc}/consumption/yearly", params={"year": now.astimezone(KYIV).year})
    ).json()
    assert [s["zone"] for s in yearly["chart"]["series"]] == ["day", "night"]
    assert len(yearly["months"]) == 12
    assert yearly["total"] is not None

    # P10: export in all three formats.
    params = {"period_from": (now - timedelta(days=5)).isoformat(), "group_by": "day"}
    r = await browser.get(f"{acc}/export", params={**params, "format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0].keys() == {"interval_start", "interval_end", "day_kwh", "night_kwh", "total_kwh"}
    assert rows[1]["total_kwh"] == "28.800"
    r = await browser.get(f"{acc}/export", params={**params, "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    assert sheet["B1"].value == home.number
    assert [c.value for c in sheet[4]][-1] == "Разом, кВт·год"
    assert float(sheet.cell(row=6, column=5).value) == 28.8
    r = await browser.get(f"{acc}/export", params={**params, "format": "espi"})
    feed = validate_espi(r.content)
    assert feed.findall(f".//{ESPI}IntervalReading/{ESPI}value")[1].text == "9600"

    # P11: the operator publishes a contract; the consumer views and downloads it.
    r = await op.post(
        "/api/v1/staff/contracts",
        json={
            "account_number": home.number,
            "number": "Р-2024/17",
            "title": "Договір про розподіл",
            "signed_on": "2024-02-01",
        },
    )
    contract_id = r.json()["id"]
    r = await op.post(
        f"/api/v1/staff/contracts/{contract_id}/documents",
        data={"kind": "annex", "title": "Додаток 1"},
        files={"file": ("додаток 1.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    detail = (await browser.get(f"{acc}/contracts/{contract_id}")).json()
    assert [d["title"] for d in detail["documents"]] == ["Додаток 1"]
    r = await browser.get(f"{acc}/contracts/{contract_id}/documents/{detail['documents'][0]['id']}")
    assert len(PdfReader(io.BytesIO(r.content)).pages) == 1  # the upload, written again
    assert "filename*=UTF-8''" in r.headers["content-disposition"]

    # P15: a warning of disconnection with the 10-working-day notice.
    r = await op.post(
        "/api/v1/staff/warnings",
        json={
            "account_number": home.number,
            "reason": "debt",
            "message": "Заборгованість",
            "debt_kop": 45020,
            "issued_on": "2026-04-01",
            "planned_on": "2026-04-10",
        },
    )
    assert r.status_code == 422
    assert r.json()["type"].endswith("notice-too-short")
    r = await op.post(
        "/api/v1/staff/warnings",
        json={
            "account_number": home.number,
            "reason": "debt",
            "message": "Заборгованість",
            "debt_kop": 45020,
            "issued_on": "2026-04-01",
            "planned_on": "2026-04-16",
        },
    )
    assert r.status_code == 201, r.text
    warnings = (await browser.get(f"{acc}/warnings")).json()
    assert [(w["reason"], w["planned_on"]) for w in warnings] == [("debt", "2026-04-16")]

    # P16: an appeal with a scan; the operator answers; the user sees it.
    r = await browser.post(
        f"{acc}/appeals",
        data={"category": "financial", "text": "Прошу перевірити рахунок за березень"},
        files={"attachment": ("rakhunok.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert (appeal["address"], appeal["status"]) == (
        page_address := home_address(home.number),
        "open",
    )
    inbox = (await op.get("/api/v1/staff/appeals")).json()
    assert [a["id"] for a in inbox] == [appeal["id"]]
    r = await op.post(
        f"/api/v1/staff/appeals/{appeal['id']}/answers", json={"text": "Перерахунок виконано"}
    )
    assert r.status_code == 201, r.text
    assert "відповідь" in portal.mail.last_to(email).body
    seen = (await browser.get(f"{acc}/appeals")).json()[0]
    assert seen["status"] == "answered"
    assert [(m["from_staff"], m["body"]) for m in seen["messages"]] == [
        (False, "Прошу перевірити рахунок за березень"),
        (True, "Перерахунок виконано"),
    ]
    assert page_address

    # P18: new contact data; the operator applies it to the account.
    r = await browser.post(
        f"{acc}/contact-changes", json={"phone": "+380671234567", "comment": "новий номер"}
    )
    assert r.status_code == 201, r.text
    queue = (await op.get("/api/v1/staff/contact-changes")).json()
    assert [q["phone"] for q in queue] == ["+380671234567"]
    r = await op.post(f"/api/v1/staff/contact-changes/{queue[0]['id']}/apply", json={"note": "ok"})
    assert r.status_code == 200
    assert r.json()["status"] == "applied"
    assert (await browser.get(acc)).json()["phone"] == "+380671234567"
    assert (await browser.get(f"{acc}/contact-changes")).json()[0]["status"] == "applied"

    # P17: change the password, then the login e-mail with re-confirmation.
    r = await browser.post(
        "/api/v1/me/password",
        json={
            "current_password": "Volyn-2026-light",
            "password": "Lutsk-river-2027",
            "password_confirm": "Lutsk-river-2027",
        },
    )
    assert r.status_code == 204, r.text
    r = await browser.post(
        "/api/v1/me/email",
        json={"new_email": "olena.k@example.org", "current_password": "Lutsk-river-2027"},
    )
    assert r.status_code == 202, r.text
    assert "olena.k@example.org" in portal.mail.last_to(email).body  # notice to the old address
    link = portal.mail.last_to("olena.k@example.org").token()
    r = await browser.post("/api/v1/auth/email-change/confirm", json={"token": link})
    assert r.status_code == 200
    assert r.json()["email"] == "olena.k@example.org"
    assert (await browser.post("/api/v1/auth/logout")).status_code == 204
    assert (await browser.get("/api/v1/me")).status_code == 401
    again = portal.make_client(address="203.0.113.51")
    r = await again.post(
        "/api/v1/auth/token", json={"email": "olena.k@example.org", "password": "Lutsk-river-2027"}
    )
    assert r.status_code == 200, r.text

    # Every staff write on the way left an audit row.
    actions = {row[0] for row in portal.sql("SELECT action FROM audit_log")}
    assert {
        "service.create",
        "news.create",
        "controller.import",
        "contract.create",
        "contract.document",
        "warning.issue",
        "appeal.answer",
        "contact_change.apply",
    } <= actions


def home_address(number: str) -> str:
    return f"Луцьк, вул. Шевченка, {int(number) - 10_000_000}"
