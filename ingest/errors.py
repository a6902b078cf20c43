"""Errors raised by the store. psycopg errors are translated where they enter."""


class StoreError(Exception):
    """Base class of every error the store raises."""


class MigrationError(StoreError):
    """The schema cannot be brought up to date (edited migration, wrong backend)."""


class StoreUnavailable(StoreError):
    """The database could not be reached after the configured retries.

    The gateway catches this and spools the batch to disk.
    """


class UnknownMeter(StoreError):
    """A reading names a meter serial the store does not know."""
