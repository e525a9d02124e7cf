"""The deployments of `followup serve` and of prefect.yaml, built from schedules.yaml (no server needed)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from flows import serve as serving
from flows.server import STANDING_FILE, standing_server
from followup.domain.config import ConfigError, load_config
from followup.settings import DEFAULTS


def test_every_flow_gets_a_deployment_the_scheduled_ones_in_office_time(config):
    built = {d.flow_name: d for d in serving.deployments(config)}
    assert set(built) == set(serving.present()) >= {"collect", "dispatch"}
    collect, dispatch = built["collect"], built["dispatch"]

    (schedule,) = collect.schedules
    assert schedule.schedule.cron == config.schedules.flows["collect"] == "*/15 7-17 * * 1-6"
    assert schedule.schedule.timezone == "Asia/Ho_Chi_Minh" == config.schedules.timezone
    assert dispatch.schedules == []  # on demand: the clerk starts it from the UI with its parameters
    for deployment in built.values():
        assert deployment.name == serving.DEPLOYMENT
        assert deployment.concurrency_limit == 1
        assert deployment.paused is False
        assert deployment.entrypoint == serving.FLOWS[deployment.flow_name].replace(":", ".")
    assert collect.parameters == {"attended": False}
    assert dispatch.parameters == {
        "units": None,
        "dry_run": False,
        "resend": False,
        "signed": None,
        "attended": False,
        "force": False,
    }
    assert "directive" in dispatch._parameter_openapi_schema.required  # the UI asks for it


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    shutil.copytree(DEFAULTS / "directives", root / "directives")
    shutil.copy(DEFAULTS / "recipients.yaml", root)
    return root


def test_a_flow_schedules_yaml_names_that_does_not_exist_is_an_error_at_its_line(config_dir: Path):
    (config_dir / "schedules.yaml").write_text(
        "timezone: Asia/Ho_Chi_Minh\nflows:\n  collect: '*/15 7-17 * * 1-6'\n  colect: '0 8 * * 1'\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        serving.check(load_config(config_dir))
    (problem,) = caught.value.problems
    assert problem.line == 4 and problem.path == "flows.colect"
    assert "there is no flow 'colect'" in problem.message and "collect, " in problem.message


def test_a_flow_of_the_registry_not_yet_in_this_version_is_named_as_such(config_dir: Path, monkeypatch):
    monkeypatch.setitem(serving.FLOWS, "report", "flows.not_written_yet:report_flow")
    (config_dir / "schedules.yaml").write_text("flows:\n  report: '0 7 1 1,7 *'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        serving.check(load_config(config_dir))
    assert "flows/not_written_yet.py is missing" in str(caught.value)
    assert caught.value.problems[0].line == 2


def test_prefect_yaml_describes_the_same_deployments_as_schedules_yaml(config):
    spec = yaml.safe_load((DEFAULTS / "prefect.yaml").read_text(encoding="utf-8"))
    by_entry = {d["entrypoint"]: d for d in spec["deployments"]}  # modules of the installed package, as the registry
    assert sorted(by_entry) == sorted(serving.FLOWS[n] for n in serving.present()), "one deployment per flow of flows/"
    assert len({d["name"] for d in spec["deployments"]}) == len(spec["deployments"])
    for name in serving.present():
        deployment = by_entry[serving.FLOWS[name]]
        assert deployment["work_pool"]["name"] == "followup-pool"
        assert deployment["concurrency_limit"] == 1
        cron = config.schedules.flows.get(name)
        schedules = deployment.get("schedules") or []
        if cron is None:
            assert schedules == [], f"{name} is not scheduled in schedules.yaml"
            continue
        assert [(s["cron"], s["timezone"]) for s in schedules] == [(cron, config.schedules.timezone)], name
        flow = serving.load(name)
        assert set(deployment.get("parameters", {})) <= set(serving.defaults(flow))


def test_a_standing_server_left_by_a_killed_serve_is_not_used(tmp_path: Path):
    (tmp_path / STANDING_FILE).write_text(
        json.dumps({"api_url": "http://127.0.0.1:9/api", "pid": os.getpid(), "server_pid": 1}), encoding="utf-8"
    )
    assert standing_server(tmp_path) is None  # nothing answers there
    (tmp_path / STANDING_FILE).write_text(json.dumps({"api_url": "x", "pid": 2**22 + 7}), encoding="utf-8")
    assert standing_server(tmp_path) is None  # no such process
    assert standing_server(tmp_path / "nowhere") is None


@pytest.mark.parametrize("name", sorted(serving.FLOWS))
def test_a_flow_takes_its_jobs_parameters_so_a_command_runs_either(name):
    """A command runs ``jobs.<name>`` directly, or ``flows.<name>.<name>_flow`` where a Prefect server stands,
    with the same keyword arguments: the flow has the job's parameters, and ``attended``."""
    import importlib
    import inspect

    from followup import jobs

    flow = getattr(importlib.import_module(f"flows.{name}"), f"{name}_flow")
    job = inspect.signature(getattr(jobs, name)).parameters
    assert list(job)[0] == "app" and "connect_retries" in job
    assert set(inspect.signature(flow.fn).parameters) == set(job) - {"app", "connect_retries"} | {"attended"}
