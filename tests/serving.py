"""A Prefect server as the tests reach it: its REST API (what the UI does), `followup serve` started and
stopped as the clerk does it, and waiting for either."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FOLLOWUP = [sys.executable, "-m", "followup"]
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class Api:
    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def deployment(self, flow: str, name: str = "followup") -> dict[str, Any]:
        return self.call("GET", f"/deployments/name/{flow}/{name}")

    def flow_runs(self, flow: str) -> list[dict[str, Any]]:
        """The runs of this flow the UI lists, whoever started them."""
        return self.call("POST", "/flow_runs/filter", {"flows": {"name": {"any_": [flow]}}})

    def start_run(self, flow: str, parameters: dict[str, Any] | None = None) -> str:
        """What the UI's "Quick run" / "Custom run" does: a run of the deployment, picked up by its server."""
        deployment = self.deployment(flow)
        run = self.call("POST", f"/deployments/{deployment['id']}/create_flow_run", {"parameters": parameters or {}})
        return run["id"]

    def wait_run(self, run_id: str, timeout: float = 120) -> dict[str, Any]:
        return wait_for(lambda: self._finished(run_id), timeout, f"flow run {run_id} to finish")

    def _finished(self, run_id: str) -> dict[str, Any] | None:
        run = self.call("GET", f"/flow_runs/{run_id}")
        return run if run["state_type"] in TERMINAL else None


def wait_for(probe: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@contextmanager
def followup_serve(
    env: dict[str, str], log: Path, command: list[str] | None = None, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`followup serve` (``command``: another installation's) until it says it serves; stopped as the clerk
    stops it (Ctrl-C) on the way out."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*(command or FOLLOWUP), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd
        )
    try:
        wait_for(lambda: "Serving" in log.read_text() or process.poll() is not None, 180, "followup serve to start")
        assert process.poll() is None, log.read_text()
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
