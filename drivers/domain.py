"""Value objects every layer shares: readings, sources, quality codes, EIC, tariff zones.

They live in ``drivers`` because it is the bottom of the import chain
(``drivers`` <- ``ingest`` <- ``portal_api``): drivers produce ``Reading``s, the
store keeps them, the reconciler and the portal reason about them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from stdnum.eu import eic as _stdnum_eic
from stdnum.exceptions import ValidationError as _StdnumValidationError

KYIV = ZoneInfo("Europe/Kyiv")
"""Billing time zone: tariff hours and billing months are local time here."""


def kwh_text(wh: int) -> str:
    """Exact kWh text of an integer Wh value: 12345 -> "12.345", -1 -> "-0.001".
    (The digits are cut from the integer's text: 100 values take ~25 µs that
    way, ~40 µs with ``divmod`` and a format; the portal formats hundreds per
    page.)"""
    if wh < 0:
        return f"-{kwh_text(-wh)}"
    digits = str(wh).rjust(4, "0")
    return f"{digits[:-3]}.{digits[-3:]}"


class Source(enum.StrEnum):
    """Where a reading came from. The store keeps the code (``db_code``)."""

    AUTO = "auto"
    CONSUMER = "consumer"
    CONTROLLER = "controller"
    ESTIMATE = "estimate"
    CORRECTION = "correction"

    @property
    def db_code(self) -> int:
        return SOURCE_CODES[self]

    @classmethod
    def from_db(cls, code: int) -> Source:
        return _SOURCES_BY_CODE[code]


SOURCE_CODES = {
    Source.AUTO: 1,
    Source.CONSUMER: 2,
    Source.CONTROLLER: 3,
    Source.ESTIMATE: 4,
    Source.CORRECTION: 5,
}
"""The store's smallint code of each source."""
_SOURCES_BY_CODE = {code: source for source, code in SOURCE_CODES.items()}


class Quality(enum.IntEnum):
    """Reading quality, numbered as Green Button (ESPI) ``QualityOfReading`` codes.

    Only codes with a Green Button meaning are used, so exports need no mapping.
    """

    VALID = 0
    MANUALLY_EDITED = 7
    ESTIMATED = 8
    QUESTIONABLE = 10
    DERIVED = 11
    RAW = 14
    VALIDATED = 17


class Register(enum.IntEnum):
    """Register numbers of the store. 0 = active import total, 1..4 = import per
    tariff T1..T4; 10 = export total, 11..14 = export per tariff T1..T4."""

    IMPORT_TOTAL = 0
    IMPORT_T1 = 1
    IMPORT_T2 = 2
    IMPORT_T3 = 3
    IMPORT_T4 = 4
    EXPORT_TOTAL = 10
    EXPORT_T1 = 11
    EXPORT_T2 = 12
    EXPORT_T3 = 13
    EXPORT_T4 = 14

    @property
    def obis(self) -> str:
        """The OBIS code of this register (``1.8.0`` … ``2.8.4``)."""
        direction = 1 if self < 10 else 2
        return f"{direction}.8.{self % 10}"

    @classmethod
    def from_obis(cls, code: str) -> Register:
        """``1.8.2`` -> IMPORT_T2; also accepts NIK's ``15.8.x`` and a ``1-0:`` prefix."""
        tail = code.split(":")[-1].split("*")[0]
        parts = tail.split(".")
        if len(parts) != 3 or parts[1] != "8" or not parts[2].isdigit():
            raise ValueError(f"not an energy register OBIS code: {code!r}")
        tariff = int(parts[2])
        if parts[0] in ("1", "15"):
            base = 0
        elif parts[0] == "2":
            base = 10
        else:
            raise ValueError(f"unsupported OBIS quantity {parts[0]!r} in {code!r}")
        if tariff > 4:
            raise ValueError(f"tariff {tariff} out of range 0..4 in {code!r}")
        return cls(base + tariff)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One register value of one meter at one instant.

    ``meter`` is the meter's serial number as the device reports it; the store
    maps it to its own id. ``value_wh`` is exact: integer watt-hours. ``read_at``
    is the instant the value belongs to (a poll's slot time); ``origin`` says
    where it came from (device, topic or submission, plus the actual read time
    when it differs).
    """

    meter: str
    register: int
    read_at: datetime
    value_wh: int
    source: Source = Source.AUTO
    quality: Quality = Quality.VALID
    origin: str = ""

    def __post_init__(self) -> None:
        if not self.meter or len(self.meter) > 64:
            raise ValueError(f"meter serial must be 1..64 characters, got {self.meter!r}")
        if self.read_at.tzinfo is None or self.read_at.utcoffset() is None:
            raise ValueError(f"read_at must be timezone-aware, got {self.read_at!r}")
        if type(self.value_wh) is not int:
            raise TypeError(f"value_wh must be an int (exact Wh), got {type(self.value_wh)}")
        if self.register not in _REGISTER_VALUES:
            raise ValueError(f"unknown register {self.register}")


_REGISTER_VALUES = frozenset(int(r) for r in Register)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """Input that could not become a reading: kept with the reason and raw bytes."""

    kind: str
    """Which path it came in by: ``mqtt``, ``modbus``, ``writer``, ``consumer``, ``controller``."""
    origin: str
    reason: str
    payload: bytes = b""
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


# --- EIC --------------------------------------------------------------------


class InvalidEic(ValueError):
    """The string is not a valid 16-character EIC."""


def validate_eic(value: str) -> str:
    """Return the EIC in canonical form (upper case, no spaces) or raise ``InvalidEic``.

    The check character follows ENTSO-E (weights 16..2, mod 37); ``python-stdnum``
    implements it.
    """
    try:
        return str(_stdnum_eic.validate(value))
    except _StdnumValidationError as exc:
        raise InvalidEic(f"invalid EIC {value!r}: {exc}") from exc


def eic_check_char(body: str) -> str:
    """The check character for the first 15 characters of an EIC."""
    return str(_stdnum_eic.calc_check_digit(body))


# --- tariff zones --------------------------------------------------------------


class Plan(enum.StrEnum):
    SINGLE = "single"
    TWO_ZONE = "two_zone"
    THREE_ZONE = "three_zone"


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneWindow:
    """A zone's share of the local day: ``start`` inclusive, ``end`` exclusive
    (``end`` 00:00 means midnight at the end of the day)."""

    zone: str
    register: int
    start: time
    end: time


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarVersion:
    """The zone windows of one plan, in force from ``effective_from`` (local date)."""

    plan: Plan
    effective_from: date
    windows: tuple[ZoneWindow, ...]
    coefficients: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        minutes = [0] * (24 * 60)
        for w in self.windows:
            start = w.start.hour * 60 + w.start.minute
            end = (w.end.hour * 60 + w.end.minute) or 24 * 60
            if end <= start:
                raise ValueError(f"{self.plan}: window {w} must not wrap; split it at midnight")
            for m in range(start, end):
                minutes[m] += 1
        if any(count != 1 for count in minutes):
            raise ValueError(f"{self.plan} from {self.effective_from}: windows must tile the day")

    def zone_at_local(self, local: time) -> ZoneWindow:
        for w in self.windows:
            end = w.end if w.end != time(0) else time.max
            if w.start <= local < end:
                return w
        raise AssertionError("windows tile the day")  # pragma: no cover - checked above


def _w(zone: str, register: int, start: int, end: int) -> ZoneWindow:
    return ZoneWindow(zone=zone, register=register, start=time(start), end=time(end % 24))


DEFAULT_CALENDARS: tuple[CalendarVersion, ...] = (
    CalendarVersion(
        plan=Plan.SINGLE,
        effective_from=date(2000, 1, 1),
        windows=(_w("total", Register.IMPORT_TOTAL, 0, 24),),
        coefficients=(("total", 1.0),),
    ),
    CalendarVersion(
        plan=Plan.TWO_ZONE,
        effective_from=date(2000, 1, 1),
        windows=(
            _w("night", Register.IMPORT_T2, 0, 7),
            _w("day", Register.IMPORT_T1, 7, 23),
            _w("night", Register.IMPORT_T2, 23, 24),
        ),
        coefficients=(("day", 1.0), ("night", 0.5)),
    ),
    CalendarVersion(
        plan=Plan.THREE_ZONE,
        effective_from=date(2000, 1, 1),
        windows=(
            _w("night", Register.IMPORT_T3, 0, 7),
            _w("half_peak", Register.IMPORT_T2, 7, 8),
            _w("peak", Register.IMPORT_T1, 8, 11),
            _w("half_peak", Register.IMPORT_T2, 11, 20),
            _w("peak", Register.IMPORT_T1, 20, 22),
            _w("half_peak", Register.IMPORT_T2, 22, 23),
            _w("night", Register.IMPORT_T3, 23, 24),
        ),
        coefficients=(("peak", 1.5), ("half_peak", 1.0), ("night", 0.4)),
    ),
)
"""The household plans of DOMAIN.md. Registers: two-zone T1 day / T2 night;
three-zone T1 peak / T2 half-peak / T3 night. The store seeds these and keeps
later versions as data."""


def plan_registers(plan: Plan) -> tuple[int, ...]:
    """The import registers a meter on ``plan`` reports, one per zone, sorted,
    as plain ints: they reach response bodies, where pydantic serializes a
    ``Register`` member ~50 times slower than an int (~200 µs of a 31-day
    consumption page's ~1.2 ms), and query parameters."""
    version = next(c for c in DEFAULT_CALENDARS if c.plan == plan)
    return tuple(sorted({int(w.register) for w in version.windows}))


@dataclass(frozen=True, slots=True)
class TariffCalendar:
    """Versioned zone calendars; answers which zone an instant falls in."""

    versions: tuple[CalendarVersion, ...] = DEFAULT_CALENDARS

    def version_for(self, plan: Plan, on: date) -> CalendarVersion:
        """The version of ``plan`` in force on local date ``on``."""
        candidates = [v for v in self.versions if v.plan == plan and v.effective_from <= on]
        if not candidates:
            raise LookupError(f"no {plan} calendar in force on {on}")
        return max(candidates, key=lambda v: v.effective_from)

    def zone_at(self, plan: Plan, instant: datetime) -> ZoneWindow:
        """The zone of ``instant`` (aware) under ``plan``, judged in Kyiv local time,
        so DST days (23 h, 25 h) follow the wall clock."""
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        local = instant.astimezone(KYIV)
        return self.version_for(plan, local.date()).zone_at_local(local.time())


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """UTC start (inclusive) and end (exclusive) of a Kyiv local day (23, 24 or 25 h)."""
    start = datetime.combine(day, time(0), KYIV).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), KYIV).astimezone(UTC)
    return start, end
