"""`python -m followup`: the command line."""

from followup.cli import main

main()
