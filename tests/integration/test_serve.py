"""`followup serve` against a real Prefect server: the deployments it registers, a run started through the
server's REST API as the UI starts one, and its mail arriving at an SMTP server on loopback.

Real processes throughout: `prefect server start` (SQLite in a temporary PREFECT_HOME, a free port), the
`followup serve` command, and the run's own process. Every process is stopped at the end of its test.
"""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flows.dispatch import send_queued
from flows.server import STANDING_FILE, answers, local_server
from followup.domain.config import load_config
from followup.settings import DEFAULTS, Settings
from followup.simulation import play_units

from serving import FOLLOWUP, Api, followup_serve, gone, wait_for
from smtp_server import Sink, smtp_sink

pytestmark = pytest.mark.prefect

DIRECTIVE = "2023-child-protection"
DISPATCH_AT = "2023-02-06T08:00:00+07:00"
COLLECT_AT = "2023-02-27T08:00:00+07:00"
REPLYING = ("XA-CAOSON", "XA-CAMGIANG", "P-GDDT")  # their replies wait in the inbox
SOURCE = Path(__file__).resolve().parents[2]  # what the subprocesses import


# --------------------------------------------------------------------------- the world


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """`prefect server start` on a free loopback port, SQLite in a temporary PREFECT_HOME."""
    with local_server(tmp_path_factory.mktemp("prefect-server"), timeout=180) as server:
        yield Api(server.api_url)


@pytest.fixture
def office(isolated_home: Path) -> Path:
    """A data folder after the dispatch (to the Maildir outbox), with some units' replies in the inbox."""
    os.environ["FOLLOWUP_NOW"] = DISPATCH_AT
    try:
        report = send_queued.fn(Settings(), DIRECTIVE, None, False, None)
    finally:
        del os.environ["FOLLOWUP_NOW"]
    assert report.counts()["sent"] == 36
    settings = Settings()
    sent = [m.as_bytes() for _, m in sorted(mailbox.Maildir(settings.outbox, create=False).items())]
    inbox = mailbox.Maildir(settings.inbox, create=True)
    for raw in play_units(sent, dict.fromkeys(REPLYING, "on-time"), seed=6):
        inbox.add(raw)
    return isolated_home


def followup_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        FOLLOWUP_HOME=str(home),
        FOLLOWUP_CONFIG=str(DEFAULTS),
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        COLUMNS="200",
        PYTHONPATH=os.pathsep.join(filter(None, [str(SOURCE), os.environ.get("PYTHONPATH")])),
        **extra,
    )
    return env


# --------------------------------------------------------------------------- the tests


def test_served_deployments_run_what_the_ui_starts_and_the_mail_arrives(prefect_server: Api, office: Path):
    api = prefect_server
    with smtp_sink() as (sink, smtp_url):
        env = followup_env(office, PREFECT_API_URL=api.url, FOLLOWUP_SMTP_URL=smtp_url, FOLLOWUP_NOW=COLLECT_AT)
        log = office / "serve.log"
        started = time.monotonic()
        with followup_serve(env, log) as serve:
            startup = time.monotonic() - started
            assert f"Prefect server: {api.url}" in log.read_text()

            collect = api.deployment("collect")
            (schedule,) = collect["schedules"]
            assert schedule["schedule"]["cron"] == "*/15 7-17 * * 1-6"
            assert schedule["schedule"]["timezone"] == "Asia/Ho_Chi_Minh"
            assert collect["parameters"] == {"attended": False}
            assert collect["global_concurrency_limit"]["limit"] == 1
            dispatch = api.deployment("dispatch")
            assert dispatch["schedules"] == [] and dispatch["global_concurrency_limit"]["limit"] == 1
            assert dispatch["parameters"]["dry_run"] is False and "directive" not in dispatch["parameters"]

            state = run_and_wait(api, "collect")
            assert state["state_type"] == "COMPLETED", (state["state"], log.read_text()[-3000:])
            arrived(sink, REPLYING)

            remind = api.deployment("remind")
            assert remind["schedules"][0]["schedule"]["cron"] == "30 7 * * 1-6"
            assert remind["parameters"] == {"as_of": None, "dry_run": False, "attended": False}
            state = run_and_wait(api, "remind", {"as_of": "2023-02-27"})
            assert state["state_type"] == "COMPLETED", (state["state"], log.read_text()[-3000:])
            reminded = [r for r in sink.received if "Nhắc gửi báo cáo" in r.message["Subject"]]
            communes = load_config(DEFAULTS).recipients.units_in(["xa-thi-tran"])
            owing = {u.emails[0] for u in communes if u.code not in REPLYING}
            assert sorted(r.rcpt_tos[0] for r in reminded) == sorted(owing)  # one each, the replied get none
            assert serve.poll() is None
        print(f"followup serve ready in {startup:.1f} s")  # shown with -s; the report quotes it

    assert serve.returncode == 0, log.read_text()[-3000:]
    assert "Stopped" in log.read_text()
    assert api.deployment("collect")["paused"] is True  # a stopped serve leaves no runs piling up


def run_and_wait(api: Api, flow: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    run_id = api.start_run(flow, parameters)
    return api.wait_run(run_id)


def arrived(sink: Sink, units: tuple[str, ...]) -> None:
    """Each of these units received one message at the SMTP server (its answer, its reminder)."""
    recipients = load_config(DEFAULTS).recipients
    expected = {recipients.unit(u).emails[0] for u in units}
    assert set(sink.by_recipient()) == expected
    assert all(len(v) == 1 for v in sink.by_recipient().values())


def test_serve_starts_a_local_server_with_its_ui_that_dies_with_it(isolated_home: Path):
    """Without PREFECT_API_URL: a local server, its UI printed, the data folder's commands recorded in it;
    killing serve outright leaves no server."""
    env = followup_env(isolated_home)
    log = isolated_home / "serve.log"
    isolated_home.mkdir(parents=True, exist_ok=True)
    with followup_serve(env, log) as serve:
        text = log.read_text()
        ui = text.split("Prefect UI: ", 1)[1].split()[0]
        assert ui.startswith("http://127.0.0.1:")
        assert answers(f"{ui}/api")
        standing = json.loads((isolated_home / "prefect" / STANDING_FILE).read_text())
        assert standing["api_url"] == f"{ui}/api" and standing["pid"] == serve.pid
        assert Api(f"{ui}/api").deployment("collect")["schedules"]

        # a command of the same data folder runs its job as a flow on this server: the UI shows it
        collected = subprocess.run([*FOLLOWUP, "collect"], env=env, capture_output=True, text=True, timeout=120)
        assert collected.returncode == 0, collected.stderr
        runs = Api(f"{ui}/api").flow_runs("collect")  # the scheduler's own runs are listed too, to come
        [run] = [r for r in runs if r["parameters"] == {"attended": True}]
        assert run["state_type"] == "COMPLETED"

        serve.kill()  # SIGKILL: no chance to clean up
        serve.wait()
        wait_for(lambda: gone(standing["server_pid"]), 30, "the Prefect server to die with followup serve")
        assert not answers(f"{ui}/api", timeout=1)


def test_prefect_yaml_deploys_the_same_flows_to_a_process_pool(prefect_server: Api, tmp_path: Path):
    """`prefect work-pool create` and `prefect deploy --all` accept the prefect.yaml `followup init` writes, from
    that folder, as the README tells: the entrypoints are modules of the installed package, not files of a checkout."""
    env = {**followup_env(tmp_path), "PREFECT_API_URL": prefect_server.url}
    folder = tmp_path / "clerk"
    init = subprocess.run([*FOLLOWUP, "init", str(folder)], env=env, capture_output=True, text=True, timeout=60)
    assert init.returncode == 0, init.stderr
    for command in (["work-pool", "create", "followup-pool", "--type", "process"], ["--no-prompt", "deploy", "--all"]):
        done = subprocess.run(
            [sys.executable, "-m", "prefect", *command], env=env, cwd=folder, capture_output=True, text=True,
            timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    collect = prefect_server.deployment("collect", "collect-pool")
    assert collect["entrypoint"] == "flows.collect:collect_flow"
    assert collect["work_pool_name"] == "followup-pool" and collect["global_concurrency_limit"]["limit"] == 1
    assert [s["schedule"]["cron"] for s in collect["schedules"]] == ["*/15 7-17 * * 1-6"]
    assert collect["schedules"][0]["schedule"]["timezone"] == "Asia/Ho_Chi_Minh"
    assert prefect_server.deployment("dispatch", "dispatch-pool")["schedules"] == []
