"""Exact parsing shared by the payload decoders: JSON, energy values, timestamps.

Numbers are parsed as ``Decimal`` (never float) so ``1234.567`` kWh becomes
exactly 1 234 567 Wh. Every failure raises ``PayloadError`` with a reason that
ends up in the dead letter.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Context, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from drivers.mqtt.errors import PayloadError

MAX_WH = 2**63 - 1
"""The store keeps Wh in a bigint."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FLOOR = Context(prec=40, rounding=ROUND_FLOOR)
"""Scaling context: rounding toward minus infinity keeps a floor exact for any input length."""
_MAX_ADJUSTED = 18
"""Decimal exponent above which a value is out of range anyway (checked before any big-int work)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


_JSON = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def load_json_object(payload: bytes) -> dict[str, Any]:
    """Decode a UTF-8 JSON object; floats come back as ``Decimal``."""
    try:
        document = _JSON.decode(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8: {exc.reason} at byte {exc.start}") from None
    except ValueError as exc:
        raise PayloadError(f"payload is not JSON: {exc}") from None
    if type(document) is not dict:
        raise PayloadError(f"payload must be a JSON object, got {type(document).__name__}")
    return document


def _number(value: object, what: str) -> Decimal | int:
    """An int or Decimal from JSON; bools, strings and the rest are refused."""
    if type(value) is int or type(value) is Decimal:
        return value
    raise PayloadError(f"{what} must be a number, got {value!r}")


def _scaled_floor(number: Decimal, places: int, what: str) -> int:
    """floor(number * 10**places), exactly, refusing values too large for the store."""
    if number.adjusted() > _MAX_ADJUSTED:
        raise PayloadError(f"{what} out of range: {number}")
    return int(number.scaleb(places, _FLOOR).to_integral_value(ROUND_FLOOR))


def wh_from_kwh(value: object, what: str) -> int:
    """kWh (int or Decimal) -> integer Wh; resolution below 1 Wh is cut off (meters truncate)."""
    number = _number(value, what)
    wh = number * 1000 if isinstance(number, int) else _scaled_floor(number, 3, what)
    return _checked_wh(wh, what)


def wh_from_wh(value: object, what: str) -> int:
    """Wh (int, or a Decimal with an integral value) -> integer Wh."""
    number = _number(value, what)
    if not isinstance(number, int):
        wh = _scaled_floor(number, 0, what)
        if wh != number:
            raise PayloadError(f"{what} in Wh must be a whole number, got {value!r}")
        number = wh
    return _checked_wh(number, what)


def _checked_wh(wh: int, what: str) -> int:
    if not 0 <= wh <= MAX_WH:
        raise PayloadError(f"{what} out of range 0..{MAX_WH} Wh: {wh}")
    return wh


def parse_timestamp(value: object, what: str = "ts") -> datetime:
    """RFC 3339 with an offset (``Z`` or ``±hh:mm``) or epoch seconds -> aware datetime."""
    if type(value) is str:
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            raise PayloadError(f"{what} is not an RFC 3339 timestamp: {value!r}") from None
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise PayloadError(f"{what} has no UTC offset: {value!r}")
        return instant
    seconds = _number(value, what)
    try:
        if isinstance(seconds, int):
            return _EPOCH + timedelta(seconds=seconds)
        return _EPOCH + timedelta(microseconds=_scaled_floor(seconds, 6, what))
    except OverflowError:
        raise PayloadError(f"{what} epoch seconds out of range: {value!r}") from None


def parse_local_time(value: object, zone: ZoneInfo, what: str = "Time") -> tuple[datetime, bool]:
    """A local wall-clock time (offset optional) -> (aware datetime, ambiguous).

    Without an offset the time is read in ``zone``; ``ambiguous`` is True when
    that wall time happens twice (DST ends) or never (DST starts), so the
    instant is a guess (the first occurrence).
    """
    if type(value) is not str:
        raise PayloadError(f"{what} must be a string, got {value!r}")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"{what} is not an ISO 8601 time: {value!r}") from None
    if instant.tzinfo is not None:
        if instant.utcoffset() is None:
            raise PayloadError(f"{what} has no usable offset: {value!r}")
        return instant, False
    first = instant.replace(tzinfo=zone, fold=0)
    second = instant.replace(tzinfo=zone, fold=1)
    return first, first.utcoffset() != second.utcoffset()


def serial_text(value: object, what: str) -> str:
    """A meter serial from JSON (string, or a whole number some devices send)."""
    if type(value) is int and value >= 0:
        value = str(value)
    if type(value) is not str or not 1 <= len(value) <= 64 or not value.isprintable():
        raise PayloadError(f"{what} must be a printable serial of 1..64 characters, got {value!r}")
    return value


def topic_level(topic: str, level: int) -> str:
    """Level ``level`` (0-based) of ``topic`` as a meter serial."""
    levels = topic.split("/")
    if level >= len(levels):
        raise PayloadError(f"topic {topic!r} has no level {level} for the meter serial")
    return serial_text(levels[level], f"topic level {level}")
