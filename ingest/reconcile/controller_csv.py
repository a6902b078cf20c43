"""Controller (inspector) readings CSV: the format and its parsing into rows.

Format (UTF-8, a header row, ``,`` or ``;`` between fields)::

    eic,meter,read_at,register,value_kwh,controller
    62Z0000000000017,SN00000001,2026-03-18T10:42:00+02:00,1,12345,Петренко

- ``eic``: the metering point; ``meter``: the serial of the meter read there;
- ``read_at``: ISO 8601; without an offset it is Kyiv local time;
- ``register``: store register (0 total; 1..3 zones) or OBIS code (``1.8.1``);
- ``value_kwh``: the register as read, kWh, at most 3 decimals (``,`` or ``.``);
- ``controller``: who read it (optional).

A row that does not parse becomes a ``RowError`` with its line number; the
checks against the store are ``controller_import``'s.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from drivers.domain import KYIV, InvalidEic, Register, validate_eic
from ingest.reconcile.validation import KWH

COLUMNS = ("eic", "meter", "read_at", "register", "value_kwh")
OPTIONAL = ("controller",)


@dataclass(frozen=True, slots=True, kw_only=True)
class RowError:
    line: int
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvRow:
    """A row that parsed; ``point_id``/``meter_id`` are filled in by the import."""

    line: int
    eic: str
    serial: str
    at: datetime
    register: int
    value_wh: int
    controller: str
    point_id: int = 0
    meter_id: int = 0


def parse(text: str) -> tuple[list[CsvRow], list[RowError]]:
    """Rows that parse, and the errors of those that do not."""
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return [], [RowError(line=1, message="empty file: a header row is expected")]
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [RowError(line=1, message=f"header lacks {', '.join(missing)}")]
    index = {name: header.index(name) for name in (*COLUMNS, *OPTIONAL) if name in header}
    rows: list[CsvRow] = []
    errors: list[RowError] = []
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        try:
            rows.append(_parse_row(line, fields, index, decimal_comma=delimiter == ";"))
        except ValueError as exc:
            errors.append(RowError(line=line, message=str(exc)))
    return rows, errors


def _parse_row(
    line: int, fields: list[str], index: dict[str, int], *, decimal_comma: bool
) -> CsvRow:
    if len(fields) < len(index):
        raise ValueError(f"{len(fields)} fields, expected {len(index)}")
    get = {name: fields[i].strip() for name, i in index.items()}
    try:
        eic = validate_eic(get["eic"])
    except InvalidEic as exc:
        raise ValueError(str(exc)) from None
    if not get["meter"]:
        raise ValueError("meter serial is empty")
    return CsvRow(
        line=line,
        eic=eic,
        serial=get["meter"],
        at=_instant(get["read_at"]),
        register=_register(get["register"]),
        value_wh=_wh(get["value_kwh"], decimal_comma=decimal_comma),
        controller=get.get("controller", ""),
    )


def _instant(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"read_at {text!r} is not an ISO 8601 date and time") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=KYIV)
    return at.astimezone(UTC)


def _register(text: str) -> int:
    try:
        return int(Register.from_obis(text)) if "." in text else int(Register(int(text)))
    except ValueError:
        raise ValueError(
            f"register {text!r} is neither a register number nor an OBIS code"
        ) from None


def _wh(text: str, *, decimal_comma: bool) -> int:
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    if decimal_comma:
        cleaned = cleaned.replace(",", ".")
    try:
        value = Decimal(cleaned) * KWH
    except InvalidOperation:
        raise ValueError(f"value_kwh {text!r} is not a number") from None
    if value != value.to_integral_value() or value < 0:
        raise ValueError(f"value_kwh {text!r} must be non-negative with at most 3 decimals")
    return int(value)
