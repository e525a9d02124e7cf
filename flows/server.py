"""The Prefect server that records the runs: the one `followup serve` starts (a child process, `prefect server
start`, which never outlives it, however it ends), and how another command of the same data folder finds it.

Nothing here imports Prefect: the CLI decides whether a server stands before Prefect reads its settings (it
reads them once, when first imported), and runs its job directly when none does.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from followup.i18n import _

DEFAULT_PORT = 4200  # Prefect's own default: the UI where the clerk's bookmarks expect it, when free
STANDING_FILE = "followup-serve.json"  # in PREFECT_HOME: where the server of `followup serve` listens
STARTUP_TIMEOUT = 180.0  # a first start creates Prefect's database: on a busy machine, a minute or more


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

    The other commands then run their jobs as flows on it, so its UI shows them.
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

    def wait(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Return when the server answers; ServerFailed, naming its log, if it stops or stays silent."""
        deadline = time.monotonic() + timeout
        while not answers(self.api_url, timeout=1.0):
            if self.process.poll() is not None:
                message = _("the Prefect server stopped at start (exit {code}); see {log}")
                raise ServerFailed(message.format(code=self.process.returncode, log=self.log))
            if time.monotonic() > deadline:
                message = _("the Prefect server did not answer within {seconds:.0f} s; see {log}")
                raise ServerFailed(message.format(seconds=timeout, log=self.log))
            time.sleep(0.1)

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(prefect_home: Path, port: int | None = None) -> LocalServer:
    """`prefect server start` on 127.0.0.1 as a child process, with its UI and scheduler; returns at once
    (``wait`` for it to answer).

    The child has a session of its own, so the clerk's Ctrl-C reaches the command first (which finishes the
    message in flight, recorded through the server, then stops it), and a closed terminal's SIGHUP reaches
    the command only. On Linux the child dies with its parent even when the parent is killed outright (no
    server left holding the port and the database); that follows the thread that starts it, so start it
    from the main thread.
    """
    prefect_home.mkdir(parents=True, exist_ok=True)
    chosen = port or free_port(DEFAULT_PORT)
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_UI_API_URL")}
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(chosen),
    )
    log = prefect_home / "server.log"  # it accumulates, as the runs do
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(chosen)],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent(),  # noqa: PLW1509 - no threads yet
        )  # fmt: skip
    return LocalServer(process, chosen, log)


@contextlib.contextmanager
def local_server(
    prefect_home: Path, port: int | None = None, timeout: float = STARTUP_TIMEOUT
) -> Iterator[LocalServer]:
    """The standing server of `followup serve`, recorded for the other commands of this data folder while
    it runs; stopped on the way out."""
    server = start_server(prefect_home, port)
    record = prefect_home / STANDING_FILE
    try:
        server.wait(timeout)
        standing = {"api_url": server.api_url, "pid": os.getpid(), "server_pid": server.process.pid}
        record.write_text(json.dumps(standing), encoding="utf-8")
        yield server
    finally:
        with contextlib.suppress(OSError):
            record.unlink()
        server.stop()
