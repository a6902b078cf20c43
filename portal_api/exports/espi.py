"""Green Button (NAESB REQ.21 ESPI 4.0) export: an Atom feed of a UsagePoint,
its LocalTimeParameters (Europe/Kyiv), per tariff zone a MeterReading, its
ReadingType and an IntervalBlock, and per billing period a UsageSummary.

Values are interval (delta) energy in Wh (``uom`` 72, multiplier 0,
``accumulationBehaviour`` 4), times are UTC epoch seconds; a zone's ``tou`` is
its store register (T1..T4). A bucket whose value is unknown carries
ReadingQuality 10 (questionable) and no value; so does a UsageSummary whose
period holds such a bucket (``qualityOfReading`` 10). A period that ended is
``overallConsumptionLastPeriod``, the running one
``currentBillingPeriodOverAllConsumption``; ``billingPeriod`` is the part of
the period the export has readings for.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from lxml import etree

from ingest.portal.consumption import Bucket
from portal_api.exports.billing import PeriodUsage
from portal_api.exports.localtime import KYIV, LocalTime
from portal_api.exports.tables import ExportZone

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
_NS = uuid.UUID("6d1f5f5e-2f0b-4f43-9a55-6d6574657267")
_INTERVAL_LENGTH = {"hour": 3600, "day": 86400}
_ATOM_XML = "application/atom+xml"


def _a(tag: str) -> str:
    return f"{{{ATOM}}}{tag}"


def _e(tag: str) -> str:
    return f"{{{ESPI}}}{tag}"


def _sub(parent: etree._Element, tag: str, text: object | None = None) -> etree._Element:
    node = etree.SubElement(parent, tag)
    if text is not None:
        node.text = str(text)
    return node


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(
    feed: etree._Element,
    *,
    key: str,
    title: str,
    self_href: str,
    up_href: str,
    related: Sequence[str],
    now: datetime,
) -> etree._Element:
    entry = _sub(feed, _a("entry"))
    _sub(entry, _a("id"), f"urn:uuid:{uuid.uuid5(_NS, key)}")
    for rel, href in [("self", self_href), ("up", up_href), *(("related", r) for r in related)]:
        etree.SubElement(entry, _a("link"), rel=rel, href=href, type=_ATOM_XML)
    _sub(entry, _a("title"), title)
    _sub(entry, _a("published"), _stamp(now))
    _sub(entry, _a("updated"), _stamp(now))
    content = _sub(entry, _a("content"))
    content.set("type", "xml")
    return content


def _interval(parent: etree._Element, tag: str, start: datetime, end: datetime) -> None:
    node = _sub(parent, _e(tag))
    _sub(node, _e("duration"), int((end - start).total_seconds()))
    _sub(node, _e("start"), int(start.timestamp()))


def _local_time(content: etree._Element, local: LocalTime) -> None:
    params = _sub(content, _e("LocalTimeParameters"))
    _sub(params, _e("dstEndRule"), local.dst_end.hex)
    _sub(params, _e("dstOffset"), local.dst_offset_s)
    _sub(params, _e("dstStartRule"), local.dst_start.hex)
    _sub(params, _e("tzOffset"), local.tz_offset_s)


def _usage_summary(content: etree._Element, usage: PeriodUsage, now: datetime) -> None:
    summary = _sub(content, _e("UsageSummary"))
    _interval(summary, "billingPeriod", usage.start, usage.end)
    ended = usage.period_end <= now
    measured = _sub(
        summary,
        _e("overallConsumptionLastPeriod" if ended else "currentBillingPeriodOverAllConsumption"),
    )
    _sub(measured, _e("powerOfTenMultiplier"), 0)
    _sub(measured, _e("uom"), 72)  # Wh
    if usage.wh is not None:
        _sub(measured, _e("value"), usage.wh)
    else:
        _sub(summary, _e("qualityOfReading"), 10)  # questionable
    _sub(summary, _e("statusTimeStamp"), int(now.timestamp()))
    _sub(summary, _e("commodity"), 1)  # electricity, secondary metered


def espi_feed(
    buckets: list[Bucket],
    zones: list[ExportZone],
    *,
    summaries: Sequence[PeriodUsage] = (),
    base_url: str,
    account_number: str,
    eic: str,
    group_by: str,
    now: datetime | None = None,
) -> bytes:
    """The feed as UTF-8 XML bytes."""
    now = now or datetime.now(UTC)
    resources = f"{base_url}/espi/1_1/resource"
    root = f"{resources}/RetailCustomer/{account_number}"
    point_href = f"{root}/UsagePoint/{eic}"
    time_href = f"{resources}/LocalTimeParameters/Europe-Kyiv"
    feed = etree.Element(_a("feed"), nsmap={None: ATOM, "espi": ESPI})
    _sub(
        feed,
        _a("id"),
        f"urn:uuid:{uuid.uuid5(_NS, f'feed:{account_number}:{eic}:{now.isoformat()}')}",
    )
    _sub(feed, _a("title"), f"Green Button: {eic}")
    _sub(feed, _a("updated"), _stamp(now))
    etree.SubElement(feed, _a("link"), rel="self", href=f"{root}/UsagePoint", type=_ATOM_XML)

    content = _entry(
        feed,
        key=f"usagepoint:{eic}",
        title=f"EIC {eic}",
        self_href=point_href,
        up_href=f"{root}/UsagePoint",
        related=[f"{point_href}/MeterReading", f"{point_href}/UsageSummary", time_href],
        now=now,
    )
    usage_point = _sub(content, _e("UsagePoint"))
    category = _sub(usage_point, _e("ServiceCategory"))
    _sub(category, _e("kind"), 0)  # electricity

    content = _entry(
        feed,
        key="localtime:Europe/Kyiv",
        title="Europe/Kyiv",
        self_href=time_href,
        up_href=f"{resources}/LocalTimeParameters",
        related=[],
        now=now,
    )
    _local_time(content, KYIV)

    for zone in zones:
        reading_href = f"{point_href}/MeterReading/{zone.register}"
        type_href = f"{resources}/ReadingType/{eic}-{zone.register}-{group_by}"
        content = _entry(
            feed,
            key=f"meterreading:{eic}:{zone.register}",
            title=f"{zone.zone} ({group_by})",
            self_href=reading_href,
            up_href=f"{point_href}/MeterReading",
            related=[type_href, f"{reading_href}/IntervalBlock"],
            now=now,
        )
        _sub(content, _e("MeterReading"))

        content = _entry(
            feed,
            key=f"readingtype:{eic}:{zone.register}:{group_by}",
            title=f"{zone.zone}, Wh",
            self_href=type_href,
            up_href=f"{resources}/ReadingType",
            related=[],
            now=now,
        )
        reading_type = _sub(content, _e("ReadingType"))
        _sub(reading_type, _e("accumulationBehaviour"), 4)  # delta data
        _sub(reading_type, _e("commodity"), 1)  # electricity, secondary metered
        _sub(reading_type, _e("dataQualifier"), 12)  # normal
        _sub(reading_type, _e("defaultQuality"), 0)  # valid
        _sub(reading_type, _e("flowDirection"), 1)  # forward (import)
        if group_by in _INTERVAL_LENGTH:
            _sub(reading_type, _e("intervalLength"), _INTERVAL_LENGTH[group_by])
        _sub(reading_type, _e("kind"), 12)  # energy
        _sub(reading_type, _e("powerOfTenMultiplier"), 0)
        _sub(reading_type, _e("tou"), zone.register)
        _sub(reading_type, _e("uom"), 72)  # Wh

        rows = [b for b in buckets if any(z.register == zone.register for z in b.zones)]
        content = _entry(
            feed,
            key=f"intervalblock:{eic}:{zone.register}:{group_by}",
            title=f"{zone.zone} intervals",
            self_href=f"{reading_href}/IntervalBlock/1",
            up_href=f"{reading_href}/IntervalBlock",
            related=[],
            now=now,
        )
        block = _sub(content, _e("IntervalBlock"))
        if rows:
            _interval(block, "interval", rows[0].interval_start, rows[-1].interval_end)
        for b in rows:
            wh = next(z.wh for z in b.zones if z.register == zone.register)
            reading = _sub(block, _e("IntervalReading"))
            if wh is None:
                quality = _sub(reading, _e("ReadingQuality"))
                _sub(quality, _e("quality"), 10)  # questionable
            _interval(reading, "timePeriod", b.interval_start, b.interval_end)
            if wh is not None:
                _sub(reading, _e("value"), wh)

    for usage in summaries:
        label = f"{usage.period:%Y-%m}"
        content = _entry(
            feed,
            key=f"usagesummary:{eic}:{label}",
            title=f"Billing period {label}",
            self_href=f"{point_href}/UsageSummary/{label}",
            up_href=f"{point_href}/UsageSummary",
            related=[],
            now=now,
        )
        _usage_summary(content, usage, now)
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True))
