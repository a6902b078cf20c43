"""Device drivers: read meters, yield ``Reading``s. No SQL, no HTTP.

The interface is ``drivers.base.Driver``; the kinds are in
``drivers.registry.DRIVERS``; the value objects every layer shares are in
``drivers.domain``.
"""
