"""Prefect's server for a command of the CLI: the one named by PREFECT_API_URL, else a temporary one."""

from __future__ import annotations

import contextlib
import os
import threading


def start_temporary_server() -> threading.Thread | None:
    """Start Prefect's temporary server in the background while the command loads and checks its data.

    Without a configured server (PREFECT_API_URL) every flow run starts one (5-7 s); started now, that
    overlaps with our own start-up. The flow finds it running. Any failure here is left to the flow to meet.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None

    def start() -> None:
        with contextlib.suppress(Exception):
            from prefect.server.api.server import SubprocessASGIServer

            SubprocessASGIServer().start()

    thread = threading.Thread(target=start, name="prefect-server", daemon=True)
    thread.start()
    return thread
