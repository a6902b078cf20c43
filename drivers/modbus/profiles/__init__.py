"""The meter models the Modbus driver knows, in one explicit registry (name -> profile)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from drivers.errors import ConfigurationError
from drivers.modbus.profile import Profile
from drivers.modbus.profiles import mt32, sdm72d, sdm120, sdm630

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "sdm630": sdm630.PROFILE,
        "sdm120": sdm120.PROFILE,
        "sdm72d": sdm72d.PROFILE,
        "mt32": mt32.PROFILE,
    }
)
"""Every known profile by name. Adding a model: one data file and one line here."""


def get_profile(name: str, profiles: Mapping[str, Profile] = PROFILES) -> Profile:
    """The profile called ``name``, or ``ConfigurationError`` listing the known names."""
    try:
        return profiles[name]
    except KeyError:
        known = ", ".join(sorted(profiles))
        raise ConfigurationError(f"unknown Modbus profile {name!r}; known: {known}") from None


__all__ = ["PROFILES", "get_profile"]
