"""`python -m followup`: the command line."""

from followup.cli import app

app()
