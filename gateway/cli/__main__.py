"""``python -m gateway.cli`` runs the ``metergate`` command."""

from gateway.cli import main

main()
