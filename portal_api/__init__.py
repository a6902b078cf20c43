"""The portal API: consumers (P1–P20), staff and analysts over HTTP + JSON."""

from portal_api.app import create_app
from portal_api.settings import PortalSettings

__all__ = ["PortalSettings", "create_app"]
