"""Fixtures live in plug-in modules, one per real service the tests talk to."""

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.mqtt",
    "tests.fixtures.modbus",
    "tests.fixtures.proxy",
]
