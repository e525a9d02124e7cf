"""followup: run a district directive from letter to report.

The library holds every rule as plain Python; Prefect flows in ``flows/`` only orchestrate it.
"""

__version__ = "0.1.0"
