"""One router per resource; ``api`` gathers them under ``/api/v1``."""
