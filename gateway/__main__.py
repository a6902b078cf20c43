"""``python -m gateway`` runs the ``metergate`` command."""

from gateway.cli import main

main()
