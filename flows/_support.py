"""What the flows share: the parts of the product and the retry conditions.

A run started by the clerk at the keyboard is *attended*: it shows progress, stops cleanly on Ctrl-C
(``followup.jobs.STOP``), and does not retry a dead server for minutes (the clerk gets one line at once).
A scheduled run is unattended and retries briefly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from followup import jobs
from followup.bootstrap import App, bootstrap
from followup.settings import Settings


def app(settings: Settings | None = None) -> App:
    return bootstrap(settings)


def connect_retries(attended: bool) -> int | None:
    """A run someone waits for tries a dead server once; a scheduled one uses the URL's retries."""
    return jobs.ATTENDED_RETRIES if attended else None


def retry_if(*kinds: type[BaseException], unless: tuple[type[BaseException], ...] = ()) -> Callable[..., bool]:
    """A Prefect retry condition: retry only on these errors (a dead server), never on a bug or bad data."""

    def condition(task: Any, task_run: Any, state: Any) -> bool:
        error = state.result(raise_on_failure=False)
        return isinstance(error, kinds) and not isinstance(error, unless)

    return condition
