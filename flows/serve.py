"""`followup serve`: one Prefect deployment per flow of the product, scheduled as schedules.yaml says.

The registry below names the flows as schedules.yaml does. A flow whose module is not there (a version
without it) is left out; a name in schedules.yaml that has no flow is a configuration error
pointing at its line. A flow that schedules.yaml does not schedule (``dispatch``) still gets a deployment,
without a schedule, so the clerk can start it from the Prefect UI with its parameters.

Adding a flow to the product is one line here (and one deployment in prefect.yaml, which a test keeps in
agreement with schedules.yaml).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from followup.domain.config import Config, ConfigError, locate
from followup.i18n import _

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

#: schedules.yaml's name of a flow -> where the flow lives ("module:function").
FLOWS: dict[str, str] = {
    "collect": "flows.collect:collect_flow",
    "remind": "flows.remind:remind_flow",
    "report": "flows.report:report_flow",
    "dispatch": "flows.dispatch:dispatch_flow",
}
DEPLOYMENT = "followup"  # a served deployment is "<flow>/followup" in the UI; prefect.yaml's are "<flow>/<flow>-pool"
CONCURRENCY = 1  # at most one run of a flow at a time (the others wait their turn)


def _module(name: str) -> str:
    return FLOWS[name].split(":")[0]


def present() -> list[str]:
    """The flows of the registry whose module ships in this package, found without importing them (nor Prefect).

    Only this folder counts: an editable install may put another checkout's ``flows/`` on the package's
    path, and a flow half-written there is not this version's.
    """
    here = Path(__file__).resolve().parent
    names = []
    for name in FLOWS:
        spec = importlib.util.find_spec(_module(name))
        if spec is not None and spec.origin and Path(spec.origin).resolve().parent == here:
            names.append(name)
    return names


def check(config: Config) -> list[str]:
    """The flows to deploy; ConfigError naming the line of schedules.yaml for a flow that does not exist."""
    names = present()
    problems = []
    for name in config.schedules.flows:
        if name in names:
            continue
        if name in FLOWS:
            why = _("flow {name} is not in this version of followup ({file} is missing)").format(
                name=repr(name), file=_module(name).replace(".", "/") + ".py"
            )
        else:
            why = _("there is no flow {name}").format(name=repr(name))
        problems.append(
            locate(
                config.root / "schedules.yaml",
                ("flows", name),
                _("{why}; the flows are: {flows}; remove the line or correct the name").format(
                    why=why, flows=", ".join(names)
                ),
            )
        )
    if problems:
        raise ConfigError(problems)
    return names


def load(name: str) -> Flow[..., Any]:
    module, function = FLOWS[name].split(":")
    return getattr(importlib.import_module(module), function)


def defaults(flow: Flow[..., Any]) -> dict[str, Any]:
    """The flow's parameters that have a default, with it: what a scheduled run gets, what the UI shows."""
    return {
        p.name: p.default
        for p in inspect.signature(flow.fn).parameters.values()
        if p.default is not inspect.Parameter.empty
    }


def deployments(config: Config) -> list[RunnerDeployment]:
    """One deployment per flow: the cron of schedules.yaml in the office's time zone, or none (on demand)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    out = []
    for name in check(config):
        flow = load(name)
        cron = config.schedules.flows.get(name)
        out.append(
            flow.to_deployment(
                name=DEPLOYMENT,
                schedule=Cron(cron, timezone=config.schedules.timezone) if cron else None,
                paused=False,  # a restart resumes the schedules a stop paused
                concurrency_limit=CONCURRENCY,
                parameters=defaults(flow),
                tags=["followup", "scheduled" if cron else "on-demand"],
                # by module, not by file: the runs import the installed package wherever serve was started
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    return out


def serve_all(config: Config, limit: int | None = None, ready: Callable[[list[str]], None] | None = None) -> None:
    """Register the deployments on the server of PREFECT_API_URL and run what it schedules, until Ctrl-C.

    ``ready`` hears the full names of the deployments once the server has them (the UI shows them). The
    runs are processes of this machine. On the way out the schedules are paused, so a server left running
    piles up no runs that nobody picks up; the next `followup serve` resumes them. (Prefect's ``serve``,
    with a word once the deployments are registered.)
    """
    import asyncio

    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    runner = Runner(name="followup", pause_on_shutdown=True, limit=limit)
    built = deployments(config)
    for deployment in built:
        runner.add_deployment(deployment)
    if ready:
        ready([f"{d.flow_name}/{d.name}" for d in built])
    with contextlib.suppress(KeyboardInterrupt, TerminationSignal):
        asyncio.run(runner.start())
