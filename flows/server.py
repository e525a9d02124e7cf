"""Prefect's server for a command of the CLI: a standing one (PREFECT_API_URL, or the one `followup serve`
started for this data folder), else a temporary one; and the standing server `followup serve` starts.

Nothing here imports Prefect at module level: the CLI decides which server to use before Prefect reads its
settings (it reads them once, when first imported).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 4200  # Prefect's own default: the UI where the clerk's bookmarks expect it, when free
STANDING_FILE = "followup-serve.json"  # in PREFECT_HOME: where the server of `followup serve` listens


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


# --------------------------------------------------------------------------- a standing server


def answers(api_url: str, timeout: float = 2.0) -> bool:
    """Does a Prefect server answer /health at this API URL (``http://host:port/api``)?"""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return response.status == 200
    except urllib.error.HTTPError as exc:  # a server behind a password answers, only not to us
        return exc.code in (401, 403)
    except (OSError, ValueError):
        return False


def standing_server(prefect_home: Path) -> str | None:
    """The API URL of the server `followup serve` runs for this data folder, if it is running.

    The other commands then use it rather than a temporary server on the same SQLite file (two servers
    on one SQLite database lock each other out).
    """
    try:
        data = json.loads((prefect_home / STANDING_FILE).read_text(encoding="utf-8"))
        url, pid = str(data["api_url"]), int(data["pid"])
        os.kill(pid, 0)  # a folder left behind by a killed serve: no such process
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if answers(url, timeout=1.0) else None


def free_port(preferred: int | None = None) -> int:
    """``preferred`` if nothing listens there, else a free port the system picks."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec function: on Linux, the child receives SIGTERM when its parent dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


class ServerFailed(RuntimeError):
    """The local Prefect server did not start; the message names its log."""


@dataclass
class LocalServer:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def local_server(prefect_home: Path, port: int | None = None, timeout: float = 180.0) -> Iterator[LocalServer]:
    """`prefect server start` on 127.0.0.1 as a child process, with its UI; stopped on the way out.

    The child has a session of its own, so the clerk's Ctrl-C reaches `followup serve` first (which pauses
    its schedules through the server, then stops it), and on Linux it dies with its parent even when the
    parent is killed outright (no server left holding the port and the database).
    """
    prefect_home.mkdir(parents=True, exist_ok=True)
    chosen = port or free_port(DEFAULT_PORT)
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_UI_API_URL")}
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(chosen),
        PREFECT_SERVER_UI_ENABLED="true",
    )
    log = prefect_home / "server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(chosen)],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent(),  # noqa: PLW1509 - no threads yet
        )  # fmt: skip
    server = LocalServer(process, chosen, log)
    record = prefect_home / STANDING_FILE
    try:
        deadline = time.monotonic() + timeout
        while not answers(server.api_url, timeout=1.0):
            if process.poll() is not None:
                raise ServerFailed(f"the Prefect server stopped at start (exit {process.returncode}); see {log}")
            if time.monotonic() > deadline:
                raise ServerFailed(f"the Prefect server did not answer within {timeout:.0f} s; see {log}")
            time.sleep(0.25)
        standing = {"api_url": server.api_url, "pid": os.getpid(), "server_pid": process.pid}
        record.write_text(json.dumps(standing), encoding="utf-8")
        yield server
    finally:
        with contextlib.suppress(OSError):
            record.unlink()
        server.stop()
