"""CSV and XLSX: one row per bucket, one column per tariff zone, then the total."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from drivers.domain import KYIV
from ingest.portal.consumption import Bucket
from portal_api.schemas.common import kwh, kyiv_text


@dataclass(frozen=True, slots=True)
class ExportZone:
    register: int
    zone: str


def zones_of(buckets: list[Bucket]) -> list[ExportZone]:
    """Every zone that appears in any bucket, by register."""
    seen = {z.register: z.zone for b in buckets for z in b.zones}
    return [ExportZone(register=r, zone=seen[r]) for r in sorted(seen)]


def _zone_wh(bucket: Bucket, register: int) -> int | None:
    return next((z.wh for z in bucket.zones if z.register == register), None)


def to_csv(buckets: list[Bucket], zones: list[ExportZone]) -> bytes:
    """UTF-8 CSV; times in Kyiv local time with their offset; exact kWh."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["interval_start", "interval_end", *(f"{z.zone}_kwh" for z in zones), "total_kwh"]
    )
    for b in buckets:
        values = [_zone_wh(b, z.register) for z in zones]
        total = b.wh
        writer.writerow(
            [
                kyiv_text(b.interval_start),
                kyiv_text(b.interval_end),
                *("" if v is None else kwh(v) for v in values),
                "" if total is None else kwh(total),
            ]
        )
    return out.getvalue().encode()


def to_xlsx(
    buckets: list[Bucket], zones: list[ExportZone], *, account_number: str, eic: str
) -> bytes:
    """One sheet; local times (Excel has no time zones), kWh as exact decimals."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Споживання"
    sheet.append(["Особовий рахунок", account_number])
    sheet.append(["EIC", eic])
    sheet.append([])
    header = ["Початок (Київ)", "Кінець (Київ)", *(f"{z.zone}, кВт·год" for z in zones)]
    sheet.append([*header, "Разом, кВт·год"])
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for b in buckets:
        values = [_zone_wh(b, z.register) for z in zones]
        total = b.wh
        sheet.append(
            [
                b.interval_start.astimezone(KYIV).replace(tzinfo=None),
                b.interval_end.astimezone(KYIV).replace(tzinfo=None),
                *(None if v is None else Decimal(v) / 1000 for v in values),
                None if total is None else Decimal(total) / 1000,
            ]
        )
    for row in sheet.iter_rows(min_row=5):
        for cell in row[:2]:
            cell.number_format = "yyyy-mm-dd hh:mm"
        for cell in row[2:]:
            cell.number_format = "0.000"
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 18
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
