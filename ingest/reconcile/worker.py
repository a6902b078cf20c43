"""A worker process for a large scope: ``python -m ingest.reconcile.worker``.

The parent (``work.run_period``) writes a pickled ``(conninfo, Job, ids)`` on
stdin and reads the pickled ``Tally`` from stdout. A separate interpreter, not
``multiprocessing``: spawning re-imports the caller's ``__main__`` (a CLI or a
script would run again) and forking would share the caller's connections.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys

from ingest.reconcile.work import work_in_process


def main() -> None:
    logging.basicConfig(level=os.environ.get("METERGATE_LOG_LEVEL", "WARNING"))
    # The payload comes from our own parent process over a pipe.
    conninfo, job, ids = pickle.load(sys.stdin.buffer)  # noqa: S301
    tally = work_in_process(conninfo, job, ids)
    pickle.dump(tally, sys.stdout.buffer)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
