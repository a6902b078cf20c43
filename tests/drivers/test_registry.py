"""Every registered driver kind implements the one driver interface."""

from drivers.base import Driver
from drivers.registry import DRIVERS


def test_every_kind_implements_the_driver_interface() -> None:
    assert set(DRIVERS) == {"modbus", "mqtt"}
    for cls in DRIVERS.values():
        for method in ("__aenter__", "__aexit__", "__aiter__"):
            assert callable(getattr(cls, method)), (cls, method)
        assert issubclass(cls, Driver)
