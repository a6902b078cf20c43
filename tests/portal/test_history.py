"""P14 readings history: every page, walked through ``next``, gives exactly the
readings of the point's meters while installed there, newest first, whether
they are dense (15-minute reads) or sparse (a consumer's monthly readings),
across a meter replacement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from drivers.domain import Source
from ingest.portal.history import meter_spans
from tests.portal.world import Portal, add_household, add_reads

Row = tuple[datetime, str, int, str, int]


def _replace_meter(url: str, point_id: int, old_meter: int, at: datetime) -> tuple[int, str]:
    """Remove ``old_meter`` at ``at`` and install a new two-register meter."""
    serial = "SN-NEW-001"
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE meter_installations SET removed_at = %s WHERE meter_id = %s", (at, old_meter)
        )
        row = conn.execute(
            "INSERT INTO meters (serial, model, digits, zones, scales, registers)"
            " VALUES (%s, 'GAMA 100', 6, 2, 2, '{1,2}') RETURNING id",
            (serial,),
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO meter_installations (meter_id, point_id, install_place, installed_at)"
            " VALUES (%s, %s, 'фасад будинку', %s)",
            (row[0], point_id, at),
        )
    return int(row[0]), serial


def _consumer_reads(url: str, meter_id: int, days: list[datetime]) -> None:
    with psycopg.connect(url) as conn:
        for i, at in enumerate(days):
            for register in (1, 2):
                conn.execute(
                    "INSERT INTO readings (meter_id, register, read_at, source, value_wh,"
                    " quality, origin) VALUES (%s, %s, %s, %s, %s, 0, 'test')",
                    (meter_id, register, at, Source.CONSUMER.db_code, 7_000_000 + 1000 * i),
                )


def _expected(url: str, since: datetime, sources: list[Source]) -> list[Row]:
    """Brute force: every reading of the point's installations, newest first."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT r.read_at, m.serial, r.register, r.source, r.value_wh
               FROM readings r JOIN meters m ON m.id = r.meter_id
               JOIN meter_installations mi ON mi.meter_id = r.meter_id
               WHERE r.read_at >= %s AND r.read_at >= mi.installed_at
                 AND (mi.removed_at IS NULL OR r.read_at < mi.removed_at)
                 AND r.source = ANY(%s)
               ORDER BY r.read_at DESC, r.meter_id DESC, r.register DESC, r.source DESC""",
            (since, [s.db_code for s in sources]),
        ).fetchall()
    return [(at, serial, reg, Source.from_db(src).value, wh) for at, serial, reg, src, wh in rows]


async def _walk(client: httpx.AsyncClient, path: str, params: dict[str, object]) -> list[Row]:
    out: list[Row] = []
    r = await client.get(path, params=params)
    while True:
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["results"]) <= params["page_size"]
        out += [
            (
                datetime.fromisoformat(h["read_at"]),
                h["meter_serial"],
                h["register"],
                h["source"],
                h["value_wh"],
            )
            for h in page["results"]
        ]
        if page["next"] is None:
            return out
        r = await client.get(page["next"])


async def test_pages_walk_every_reading_newest_first(portal: Portal) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(days=80)
    home = add_household(portal.url, 61, registers=(1, 2), installed=now - timedelta(days=400))
    replaced = now - timedelta(days=1, hours=6)  # inside the first window of a page
    # dense automatic reads for 5 days around the replacement, on both meters
    add_reads(portal.url, home.meter_id, registers=(1, 2), start=now - timedelta(days=5),
              end=replaced + timedelta(hours=3))  # fmt: skip
    new_meter, _ = _replace_meter(portal.url, home.point_id, home.meter_id, replaced)
    add_reads(portal.url, new_meter, registers=(1, 2), start=replaced, end=now)
    # sparse consumer readings: one a month, back beyond the default 92 days
    _consumer_reads(portal.url, home.meter_id, [now - timedelta(days=d) for d in (9, 40, 70, 120)])
    user = portal.add_user("h@example.com", accounts=[home.account_id])
    client = portal.session(user)
    path = f"/api/v1/accounts/{home.number}/history/readings"
    since = start.isoformat()

    everything = await _walk(client, path, {"page_size": 150, "period_from": since})
    assert everything == _expected(portal.url, start, list(Source))
    assert len(everything) > 900  # dense: several pages

    # sparse only: the pages must reach back past the first windows
    sparse = await _walk(client, path, {"page_size": 2, "source": "consumer", "period_from": since})
    assert sparse == _expected(portal.url, start, [Source.CONSUMER])
    assert [r[0] for r in sparse[::2]] == [now - timedelta(days=d) for d in (9, 40, 70)]


async def test_pages_split_readings_of_one_instant_anywhere(portal: Portal) -> None:
    """A three-zone meter reads its registers at one instant, by the meter and
    by the consumer: every page size cuts some such group, and no reading is
    lost or repeated where it does (a page's scans must stop at the same rows,
    in the same order, as the page)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(hours=3)
    home = add_household(
        portal.url, 62, plan="three_zone", registers=(0, 1, 2, 3), installed=now - timedelta(days=9)
    )
    add_reads(portal.url, home.meter_id, registers=(0, 1, 2, 3), start=start, end=now)
    _consumer_reads(portal.url, home.meter_id, [now - timedelta(hours=1)])  # registers 1 and 2
    user = portal.add_user("z@example.com", accounts=[home.account_id])
    client = portal.session(user)
    path = f"/api/v1/accounts/{home.number}/history/readings"
    expected = _expected(portal.url, start, list(Source))
    assert len(expected) == 4 * 13 + 2
    for page_size in (1, 2, 3, 5, 7):
        walked = await _walk(
            client, path, {"page_size": page_size, "period_from": start.isoformat()}
        )
        assert walked == expected, page_size


def test_meter_spans_clip_the_stays_to_the_range() -> None:
    """A stay that ends at the range start or begins at its end is outside; one
    still running, or removed at or after the end, has no ``until``."""
    t = datetime(2026, 3, 1, tzinfo=UTC)
    day = timedelta(days=1)

    def stay(meter: int, installed: datetime, removed: datetime | None) -> dict[str, object]:
        return {"meter_id": meter, "digits": 6, "registers": [1, 2],
                "installed_at": installed.isoformat(),
                "removed_at": None if removed is None else removed.isoformat()}  # fmt: skip

    stays = [stay(1, t - 9 * day, t), stay(2, t, t + 5 * day), stay(3, t + 5 * day, None)]
    spans = meter_spans(stays, t, t + 5 * day)
    assert [(s.meter_id, s.since, s.until) for s in spans] == [(2, t, None)]
    spans = meter_spans(stays, t - day, t + 6 * day)
    assert [(s.meter_id, s.since, s.until) for s in spans] == [
        (1, t - day, t),
        (2, t, t + 5 * day),
        (3, t + 5 * day, None),
    ]
    assert meter_spans(stays, t - 20 * day, t - 9 * day) == []
