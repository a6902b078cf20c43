"""Test data for the portal: households in the store, logins, HTTP clients."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
from argon2 import PasswordHasher, Type
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import NameObject, StreamObject

from drivers.domain import eic_check_char
from portal_api import PortalSettings
from portal_api.devmail import DevMailServer
from portal_api.security.tokens import new_token, token_hash

PASSWORD = "correct horse battery"
SLOT = timedelta(minutes=15)


def pdf(
    page_sizes: Sequence[tuple[int, int]] = ((595, 842),),
    *,
    info: dict[str, str] | None = None,
    xmp: bytes | None = None,
    page_xmp: bytes | None = None,
    password: str | None = None,
) -> bytes:
    """A PDF of blank pages; ``info`` fills the document information dictionary,
    ``xmp`` the catalog's metadata stream and ``page_xmp`` the first page's."""
    writer = PdfWriter()
    for width, height in page_sizes:
        writer.add_blank_page(width, height)
    writer.metadata = info or None
    if xmp is not None:
        writer.xmp_metadata = xmp
    if page_xmp is not None:
        stream = StreamObject()
        stream.set_data(page_xmp)
        stream[NameObject("/Type")] = NameObject("/Metadata")
        stream[NameObject("/Subtype")] = NameObject("/XML")
        writer.pages[0][NameObject("/Metadata")] = writer._add_object(stream)
    if password is not None:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF = pdf()


def eic(n: int) -> str:
    body = f"62Z{n:012d}"
    while eic_check_char(body) == "-":
        n += 10**11
        body = f"62Z{n:012d}"
    return body + eic_check_char(body)


@dataclass(frozen=True, slots=True)
class Household:
    number: str
    account_id: int
    point_id: int
    eic: str
    meter_id: int
    serial: str
    registers: tuple[int, ...]
    plan: str


def add_household(
    url: str,
    n: int,
    *,
    plan: str = "two_zone",
    registers: Sequence[int] = (1, 2),
    digits: int = 6,
    installed: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    phone: str = "+380500000000",
) -> Household:
    number = f"{10_000_000 + n}"
    code = eic(n)
    serial = f"SN-{n:06d}"
    with psycopg.connect(url) as conn:
        account_id = _one(
            conn,
            "INSERT INTO accounts (number, holder_name, address, phone)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            (number, f"Споживач {n}", f"Луцьк, вул. Шевченка, {n}", phone),
        )
        point_id = _one(
            conn,
            "INSERT INTO metering_points (eic, address, region, permitted_power_kw,"
            " input_breaker, tariff_plan) VALUES (%s, %s, 'Луцьк', 7, true, %s)"
            " RETURNING id",
            (code, f"Луцьк, вул. Шевченка, {n}", plan),
        )
        meter_id = _one(
            conn,
            "INSERT INTO meters (serial, model, digits, zones, scales, registers)"
            " VALUES (%s, 'GAMA 100', %s, %s, %s, %s) RETURNING id",
            (serial, digits, len(registers), len(registers), list(registers)),
        )
        conn.execute(
            "INSERT INTO meter_installations (meter_id, point_id, install_place, installed_at)"
            " VALUES (%s, %s, 'фасад будинку', %s)",
            (meter_id, point_id, installed),
        )
        conn.execute(
            "INSERT INTO account_points (account_id, point_id) VALUES (%s, %s)",
            (account_id, point_id),
        )
    return Household(
        number=number,
        account_id=account_id,
        point_id=point_id,
        eic=code,
        meter_id=meter_id,
        serial=serial,
        registers=tuple(registers),
        plan=plan,
    )


def _one(conn: psycopg.Connection, query: str, params: tuple[object, ...]) -> int:
    row = conn.execute(query, params).fetchone()  # type: ignore[call-overload]
    assert row is not None
    return int(row[0])


def add_reads(
    url: str,
    meter_id: int,
    *,
    registers: Sequence[int],
    start: datetime,
    end: datetime,
    first_wh: int = 5_000_000,
    per_slot_wh: Callable[[int, datetime], int] = lambda register, at: 100 * max(register, 1),
) -> int:
    """15-minute automatic reads in ``[start, end]``; ``per_slot_wh`` is the
    energy booked at each read after the first. Returns the rows written."""
    lines = []
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # UTC steps: DST-proof
    for register in registers:
        value = first_wh
        at = start
        while at <= end:
            lines.append(f"{meter_id}\t{register}\t{at.isoformat()}\t1\t{value}\t0\ttest\n")
            at += SLOT
            value += per_slot_wh(register, at)
    copy_sql = (
        "COPY readings (meter_id, register, read_at, source, value_wh, quality, origin) FROM STDIN"
    )
    with psycopg.connect(url) as conn, conn.cursor() as cur, cur.copy(copy_sql) as copy:
        copy.write("".join(lines))
    return len(lines)


def jpeg_with_exif(size: tuple[int, int] = (64, 48)) -> bytes:
    """A JPEG carrying EXIF with a GPS position and a camera serial number."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "MeterCam"  # Make
    exif[0xA431] = "CAMERA-SERIAL-0042"  # BodySerialNumber
    gps = {1: "N", 2: (50.0, 44.0, 51.0), 3: "E", 4: (25.0, 19.0, 30.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size: tuple[int, int] = (32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 10)).save(out, "PNG")
    return out.getvalue()


@dataclass
class Portal:
    """Talks to the app as its users do."""

    make_client: Callable[..., httpx.AsyncClient]
    mail: DevMailServer
    url: str
    settings: PortalSettings

    def hasher(self) -> PasswordHasher:
        s = self.settings
        return PasswordHasher(
            time_cost=s.argon2_time_cost,
            memory_cost=s.argon2_memory_kib,
            parallelism=s.argon2_parallelism,
            type=Type.ID,
        )

    def add_user(
        self,
        email: str,
        role: str = "consumer",
        password: str = PASSWORD,
        accounts: Sequence[int] = (),
    ) -> int:
        """A confirmed login with a password, straight into the store."""
        with psycopg.connect(self.url) as conn:
            user_id = _one(
                conn,
                "INSERT INTO users (email, role, password_hash, confirmed_at,"
                " terms_accepted_at, data_consent_at)"
                " VALUES (%s, %s, %s, now(), now(), now()) RETURNING id",
                (email, role, self.hasher().hash(password)),
            )
            for i, account_id in enumerate(accounts):
                conn.execute(
                    "INSERT INTO user_accounts (user_id, account_id, active) VALUES (%s, %s, %s)",
                    (user_id, account_id, i == 0),
                )
        return user_id

    async def bearer(
        self, email: str, password: str = PASSWORD, address: str = "203.0.113.5"
    ) -> httpx.AsyncClient:
        """A client logged in with a bearer token."""
        anon = self.make_client(address=address)
        r = await anon.post("/api/v1/auth/token", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return self.make_client(address=address, token=r.json()["access_token"])

    def session(self, user_id: int, address: str = "203.0.113.7") -> httpx.AsyncClient:
        """A bearer session made straight in the store (the login route is tested elsewhere)."""
        token = new_token()
        with psycopg.connect(self.url) as conn:
            conn.execute(
                "INSERT INTO sessions (token_hash, user_id, kind, expires_at)"
                " VALUES (%s, %s, 'bearer', now() + interval '1 hour')",
                (token_hash(token), user_id),
            )
        return self.make_client(address=address, token=token)

    async def browser(
        self, email: str, password: str = PASSWORD, address: str = "203.0.113.6"
    ) -> httpx.AsyncClient:
        """A client logged in with the session cookie; sends the CSRF header."""
        client = self.make_client(address=address)
        r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return client

    def sql(self, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(query, params)  # type: ignore[call-overload]
            return cur.fetchall() if cur.description else []

    def audit_count(self) -> int:
        return int(self.sql("SELECT count(*) FROM audit_log")[0][0])  # type: ignore[call-overload]


@dataclass
class World:
    portal: Portal
    a: Household
    b: Household
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


def add_submission(url: str, home: Household, user_id: int, values_wh: Sequence[int]) -> int:
    """A consumer submission as the reconciler stores it, plus the portal's record."""
    with psycopg.connect(url) as conn:
        submission_id = _one(
            conn,
            "INSERT INTO consumer_submissions (point_id, meter_id, submitted_at, submitted_by,"
            " registers, values_wh) VALUES (%s, %s, now(), %s, %s, %s) RETURNING id",
            (
                home.point_id,
                home.meter_id,
                f"user:{user_id}",
                list(home.registers),
                list(values_wh),
            ),
        )
        conn.execute(
            "INSERT INTO portal_submissions (submission_id, account_id, point_id, user_id)"
            " VALUES (%s, %s, %s, %s)",
            (submission_id, home.account_id, home.point_id, user_id),
        )
    return submission_id


async def build_world(portal: Portal) -> World:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    a = add_household(portal.url, 1, plan="two_zone", registers=(1, 2))
    b = add_household(portal.url, 2, plan="single", registers=(0,))
    for home in (a, b):
        add_reads(
            portal.url,
            home.meter_id,
            registers=home.registers,
            start=now - timedelta(days=10),
            end=now,
        )
    world = World(portal=portal, a=a, b=b)
    user_a = portal.add_user("a@example.com", accounts=[a.account_id])
    user_b = portal.add_user("b@example.com", accounts=[b.account_id])
    world.ids.update(user_a=user_a, user_b=user_b)
    for role in ("operator", "analyst", "admin"):
        world.ids[role] = portal.add_user(f"{role}@utility.example", role=role)
    world.clients["anonymous"] = portal.make_client(address="192.0.2.1")
    world.clients["consumer_a"] = portal.session(user_a)
    world.clients["consumer_b"] = portal.session(user_b)
    for role in ("operator", "analyst", "admin"):
        world.clients[role] = portal.session(world.ids[role])
    await _records(world)
    return world


async def _records(world: World) -> None:
    """One of everything on A's account, made the way users make them."""
    a, op = world.clients["consumer_a"], world.clients["operator"]
    n = world.a.number
    r = await a.post(
        f"/api/v1/accounts/{n}/appeals",
        data={"category": "financial", "text": "Перевірте нарахування"},
        files={"attachment": ("scan.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    world.ids["appeal"] = r.json()["id"]
    world.ids["attachment"] = r.json()["attachments"][0]["id"]
    r = await op.post(
        "/api/v1/staff/contracts",
        json={
            "account_number": n,
            "number": "R-1",
            "title": "Договір про розподіл",
            "signed_on": "2024-01-10",
        },
    )
    assert r.status_code == 201, r.text
    world.ids["contract"] = r.json()["id"]
    r = await op.post(
        f"/api/v1/staff/contracts/{world.ids['contract']}/documents",
        data={"kind": "contract", "title": "Текст договору"},
        files={"file": ("dogovir.pdf", PDF, "application/pdf")},
    )
    assert r.status_code == 201, r.text
    world.ids["document"] = r.json()["id"]
    r = await op.post(
        "/api/v1/staff/warnings",
        json={
            "account_number": n,
            "reason": "debt",
            "message": "Борг",
            "debt_kop": 12550,
            "issued_on": "2026-03-02",
            "planned_on": "2026-03-17",
        },
    )
    assert r.status_code == 201, r.text
    world.ids["warning"] = r.json()["id"]
    r = await a.post(f"/api/v1/accounts/{n}/contact-changes", json={"phone": "+380671112233"})
    assert r.status_code == 201, r.text
    world.ids["contact_change"] = r.json()["id"]
    submission = add_submission(
        world.portal.url, world.a, world.ids["user_a"], [5_100_000, 5_200_000]
    )
    world.ids["submission"] = submission
    r = await a.post(
        f"/api/v1/accounts/{n}/readings/submissions/{submission}/photos",
        files={"photo": ("meter.png", png(), "image/png")},
    )
    assert r.status_code == 201, r.text
    world.ids["photo"] = r.json()["id"]
    world.ids["flag"] = int(
        world.portal.sql(
            "INSERT INTO review_flags (point_id, period, register, kind, reason)"
            " VALUES (%s, '2026-02-01', 1, 'divergence', 'test') RETURNING id",
            (world.a.point_id,),
        )[0][0]
    )  # type: ignore[call-overload]
    r = await op.post(
        "/api/v1/staff/news",
        json={"title": "Новина", "body": "Текст", "published_at": "2026-01-01T00:00:00Z"},
    )
    assert r.status_code == 201, r.text
    world.ids["news"] = r.json()["id"]
    r = await op.post(
        "/api/v1/staff/services",
        json={"name": "Заміна лічильника", "price_kop": 48000, "unit": "послуга"},
    )
    assert r.status_code == 201, r.text
    world.ids["service"] = r.json()["id"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
