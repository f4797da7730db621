"""``python -m riskmap``."""

from riskmap.cli import app

app()
