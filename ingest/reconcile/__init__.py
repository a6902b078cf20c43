"""The reconciler: billing figures per point, zone and month from automatic,
consumer and controller readings, versioned and audited (docs/reconciler.md).

Synchronous (they run whole periods; the gateway runs them in a worker thread):
``reconcile``, ``close_period``, ``correct_period``, ``resolve_flag``.
Asynchronous (the portal calls them on its pool's connections):
``preview_submission``, ``confirm_submission``, ``import_controller_csv``,
``period_reads``, ``list_flags``, ``request_reconcile``.
"""

from ingest.reconcile.closing import close_period
from ingest.reconcile.controller_csv import RowError
from ingest.reconcile.controller_import import ImportReport, import_controller_csv
from ingest.reconcile.corrections import correct_period, resolve_flag
from ingest.reconcile.errors import (
    CorrectionRejected,
    PeriodClosed,
    PeriodNotDue,
    ReconcileError,
    SubmissionRejected,
    UnknownPoint,
)
from ingest.reconcile.flags import FlagKind, ReviewFlag, list_flags
from ingest.reconcile.incremental import request_reconcile
from ingest.reconcile.periods import PeriodBounds, bounds, parse_period
from ingest.reconcile.policy import Policy, load_policy, save_policy
from ingest.reconcile.runner import ReconcileSummary, reconcile
from ingest.reconcile.schedule import reconcile_job, schedule_reconcile
from ingest.reconcile.submissions import (
    SubmissionPreview,
    ZonePreview,
    confirm_submission,
    preview_submission,
)
from ingest.reconcile.versions import PeriodRead, period_reads

__all__ = [
    "CorrectionRejected",
    "FlagKind",
    "ImportReport",
    "PeriodBounds",
    "PeriodClosed",
    "PeriodNotDue",
    "PeriodRead",
    "Policy",
    "ReconcileError",
    "ReconcileSummary",
    "ReviewFlag",
    "RowError",
    "SubmissionPreview",
    "SubmissionRejected",
    "UnknownPoint",
    "ZonePreview",
    "bounds",
    "close_period",
    "confirm_submission",
    "correct_period",
    "import_controller_csv",
    "list_flags",
    "load_policy",
    "parse_period",
    "period_reads",
    "preview_submission",
    "reconcile",
    "reconcile_job",
    "request_reconcile",
    "resolve_flag",
    "save_policy",
    "schedule_reconcile",
]
