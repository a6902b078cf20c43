"""Consumption files (P10): CSV, XLSX and Green Button (ESPI) XML."""

from portal_api.exports.espi import espi_feed
from portal_api.exports.tables import ExportZone, to_csv, to_xlsx, zones_of

__all__ = ["ExportZone", "espi_feed", "to_csv", "to_xlsx", "zones_of"]
