"""Errors of the reconciler (all are ``ingest.errors.StoreError``s)."""

from __future__ import annotations

from ingest.errors import StoreError


class ReconcileError(StoreError):
    """Base class of the reconciler's errors."""


class SubmissionRejected(ReconcileError):
    """A consumer submission failed validation; ``errors`` says why, per zone."""

    def __init__(self, errors: tuple[str, ...]) -> None:
        super().__init__("; ".join(errors) or "submission rejected")
        self.errors = errors


class PeriodNotDue(ReconcileError):
    """The period's closing cut-off (or its consumer window) has not passed yet."""


class PeriodClosed(ReconcileError):
    """The period is closed: only an operator correction changes it."""


class UnknownPoint(ReconcileError):
    """No metering point with that id or EIC."""


class CorrectionRejected(ReconcileError):
    """An operator correction that cannot be applied (no result, bad value)."""
