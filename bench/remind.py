"""Benchmark: `followup remind` end to end against a raw smtplib loop, and the time to decide who owes what.

    .venv/bin/python bench/remind.py [--units 10000] [--repeat 3] [--skip-profile] [--fresh]

1. SETUP (cached under bench/out/remind-cache/, keyed by the number of units and a hash of the generated
   configuration): bench/dispatch.py's ``make_config`` (N units: half communes answering the children list and
   both reports, half departments answering the two reports), one dispatch into the Maildir outbox at
   2023-02-06 08:00 (collect.py's cached snapshot of the same configuration is copied instead when it exists),
   then a third of the units (index % 3 == 0) with *accepted* replies. The replies are ``Submission`` rows (and
   the ``IncomingMessage`` row each must point to) inserted directly in the store: status accepted, received
   before the deadline (the list on 15/02, the first-half report on 20/04), with directive, requirement,
   period and unit set. No e-mail is built or read: this benchmark measures reminding, not collecting.
2. DECIDE: ``services.remind.decide`` in process on a copy of that home, at 2023-02-27 08:00 (the list is
   7 days late, the reports are not yet in their window: the communes that did not reply owe the list) and
   at 2023-05-12 08:00 (the H1 report's last working day before its deadline; the list is still reminded
   weekly): median of --decide-repeat runs. Goal <= 1 s at 2023-02-27.
3. PRODUCT: ``flows.remind.send_reminders.fn(settings, "2023-02-27T08:00+07:00", False)`` on a fresh copy of
   the home, FOLLOWUP_SMTP_URL pointing to the sink: sync config, decide, issue the công văn đôn đốc, record one
   reminder per owing unit and leadership's summary, compose and send each over one SMTP connection. The run
   must send exactly (units owing something) + 1 messages, and the sink must receive them.
4. BASELINE: the exact bytes the product sent (captured in an untimed product run, which is also the warm-up
   and, unless --skip-profile, the cProfile run) sent with raw ``smtplib.SMTP.sendmail`` over one connection to
   the same sink. Product and baseline alternate (P B, B P, ...); medians; goal ratio <= 1.3.

The sink (bench/smtp_sink.py) runs in its own process; see bench/README.md. Figures go to stdout and
bench/out/remind.json.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import importlib.util
import json
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from types import ModuleType, SimpleNamespace

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
CACHE = OUT / "remind-cache"
sys.path.insert(0, str(ROOT))  # flows/ lives at the repo root

DIRECTIVE = "2023-child-protection"
DISPATCH_NOW = "2023-02-06T08:00+07:00"
REMIND_NOW = "2023-02-27T08:00+07:00"  # Monday; the list (last day 20/02) is 7 days late: letter + leadership
MAY_NOW = "2023-05-12T08:00+07:00"  # Friday; H1 report due "trước ngày 15/05", list still reminded weekly
REPLIED_EVERY = 3  # units whose index % 3 == 0 replied (accepted) to what was asked of them by then
REPLIES = {  # requirement -> when the replied units' accepted reply arrived (office time, before the deadline)
    "danh-sach-tre-em": "2023-02-15T09:30+07:00",
    "bao-cao-6-thang": "2023-04-20T09:30+07:00",  # in the H1 report's window (from 16/03); after 27/02: unseen then
}


def _load(name: str, file: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


collect = _load("bench_collect", "collect.py")  # set_env, tree_digest, warm_config_cache, git
dispatch = collect.bench_dispatch()  # make_config, SinkProcess, baseline_run, breakdown, top_text, median
median = dispatch.median


# --------------------------------------------------------------------------- setup (cached)


def prepare(units: int, fresh: bool, cache: Path = CACHE, insert: Callable[[Path, Path], dict] | None = None) -> Path:
    """The cache folder (config/, snapshot/, meta.json) for ``units`` units, built once: the dispatched home,
    then ``insert(home, config)`` puts the replies in its store (what it returns goes into meta.json)."""
    with tempfile.TemporaryDirectory() as tmp:
        config_tmp = dispatch.make_config(Path(tmp) / "config", units)
        key = collect.tree_digest(config_tmp)[:12]
        folder = cache / f"units{units}-{key}"
        if fresh:
            shutil.rmtree(folder, ignore_errors=True)
        if not (folder / "meta.json").exists():
            build(
                folder,
                config_tmp,
                units,
                key,
                insert or (lambda home, config: {"replies": insert_replies(home, config)}),
            )
    return folder


def build(folder: Path, config_tmp: Path, units: int, key: str, insert: Callable[[Path, Path], dict]) -> None:
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    shutil.copytree(config_tmp, partial / "config")
    home = partial / "snapshot"
    meta: dict = {"units": units, "config_key": key}
    t0 = time.perf_counter()
    meta["dispatch"] = dispatched_home(home, partial / "config", units, key)
    meta["dispatch_s"] = round(time.perf_counter() - t0, 1)
    print(f"setup: dispatch state ready in {meta['dispatch_s']:.0f} s; inserting the replies", flush=True)
    t0 = time.perf_counter()
    meta.update(insert(home, partial / "config"))
    meta["insert_s"] = round(time.perf_counter() - t0, 1)
    (partial / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    print(f"setup: replies inserted in {meta['insert_s']:.1f} s (meta.json has the counts)", flush=True)


def dispatched_home(home: Path, config_dir: Path, units: int, key: str) -> str:
    """``home`` as FOLLOWUP_HOME is right after one dispatch to the ``units`` units of ``config_dir`` (the
    outbox dropped): collect.py's cached snapshot of the same configuration copied when it exists, else one
    dispatch into the Maildir outbox at DISPATCH_NOW. Returns how. Shared with bench/report.py."""
    from flows.dispatch import send_queued
    from followup.settings import Settings

    collected = OUT / "collect-cache" / f"units{units}-{key}" / "snapshot"  # same config => same dispatch
    if collected.is_dir() and not fresh_dispatch_wanted():
        print(f"setup: copying collect.py's dispatched snapshot {collected}", flush=True)
        shutil.copytree(collected, home)
        return f"copied from {collected.relative_to(ROOT)}"
    collect.set_env(
        FOLLOWUP_CONFIG=str(config_dir), FOLLOWUP_HOME=str(home), FOLLOWUP_NOW=DISPATCH_NOW,
        FOLLOWUP_SMTP_URL=None, FOLLOWUP_IMAP_URL=None, FOLLOWUP_DATABASE_URL=None,
    )  # fmt: skip
    print(f"setup: dispatching to {units} units into a Maildir outbox (once, cached)", flush=True)
    report = send_queued.fn(Settings(), DIRECTIVE, None, False, None)
    if report.counts()["sent"] != units:
        raise RuntimeError(f"setup dispatch: {report.counts()}")
    shutil.rmtree(home / "mail")  # ~160 KiB per unit; neither reminding nor the report reads it
    return "dispatched"


def fresh_dispatch_wanted() -> bool:
    return os.environ.get("BENCH_REMIND_DISPATCH") == "1"  # force a dispatch even if collect's cache exists


def insert_replies(home: Path, config_dir: Path) -> dict[str, int]:
    """Accepted Submission rows (each with its IncomingMessage) for the units whose index % 3 == 0."""
    from followup.bootstrap import App
    from followup.domain.periods import dues
    from followup.domain.states import IncomingStatus, SubmissionStatus
    from followup.settings import Settings
    from followup.storage.models import IncomingMessage, Submission

    collect.set_env(FOLLOWUP_HOME=str(home), FOLLOWUP_CONFIG=str(config_dir), FOLLOWUP_NOW=REMIND_NOW)
    app = App(Settings())
    config = app.config
    directive = config.directive(DIRECTIVE)
    position = {u.code: i for i, u in enumerate(config.recipients.units)}
    counts: dict[str, int] = {}
    with app.uow() as uow:
        for requirement in directive.requirements:
            if requirement.code not in REPLIES:
                continue
            received = dt.datetime.fromisoformat(REPLIES[requirement.code]).astimezone(dt.UTC)
            [due] = dues(directive, requirement, received.date(), config.tz)[-1:]
            assert received < due.cutoff, (requirement.code, due)
            period = str(due.period)
            n = 0
            for unit in config.recipients.units_in(requirement.from_groups):
                if position[unit.code] % REPLIED_EVERY:
                    continue
                incoming = IncomingMessage(
                    source="hand", dedup_key=f"bench-remind.{requirement.code}.{period}.{unit.code}", sha256="0" * 64,
                    message_id=None, raw_path="", size=0, from_addr=unit.emails[0],
                    subject=f"[bench] {requirement.code} {period}", received_at=received, collected_at=received,
                    status=IncomingStatus.PROCESSED,
                )  # fmt: skip
                uow.session.add(incoming)
                uow.session.flush()
                uow.session.add(
                    Submission(
                        incoming_id=incoming.id,
                        attachment_name=None,
                        attachment_path=None,
                        attachment_sha256=None,
                        directive_code=directive.code,
                        requirement_code=requirement.code,
                        period=period,
                        unit_code=unit.code,
                        received_at=received,
                        status=SubmissionStatus.ACCEPTED,
                        reason=None,
                        evidence=["bench"],
                        problems=[],
                        summary={},
                        content={},
                        decided_at=received,
                        decided_by="bench",
                    )  # fmt: skip
                )
                n += 1
            counts[f"{requirement.code} {period}"] = n
        uow.commit()
    return counts


def expected_owing(config, as_of: dt.datetime) -> int:  # type: ignore[no-untyped-def]
    """Units owing the list at 2023-02-27, computed without the product: communes that did not reply."""
    assert as_of.date() == dt.date(2023, 2, 27)
    position = {u.code: i for i, u in enumerate(config.recipients.units)}
    requirement = config.directive(DIRECTIVE).requirement("danh-sach-tre-em")
    return sum(1 for u in config.recipients.units_in(requirement.from_groups) if position[u.code] % REPLIED_EVERY)


def fresh_home(snapshot: Path, work: Path, name: str) -> Path:
    """A copy of the snapshot (untimed). The store keeps absolute paths of the documents it wrote (the letter
    of the dispatch, which every reminder's form kit reads), so they are pointed into the copy."""
    home = work / name
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(snapshot, home)
    with closing(sqlite3.connect(home / "followup.db")) as db, db:
        paths = (("dispatches", "letter_path"), ("dispatches", "signed_path"), ("reminders", "letter_path"))
        for table, column in paths:
            db.execute(
                f"UPDATE {table} SET {column} = ? || substr({column}, instr({column}, '/documents/'))"
                f" WHERE instr({column}, '/documents/') > 0",
                (str(home),),
            )
    return home


# --------------------------------------------------------------------------- decide, product, capture


def decide_runs(home: Path, moment: str, repeat: int) -> tuple[list[float], dict]:
    """``decide`` in process on ``home`` (read-only): seconds per run and what it decided."""
    from followup.bootstrap import App
    from followup.services.remind import decide
    from followup.settings import Settings

    collect.set_env(FOLLOWUP_HOME=str(home), FOLLOWUP_NOW=moment)
    app = App(Settings())
    config = app.config  # not timed: the cached configuration, as every run of the flow has it
    as_of = app.clock.moment(moment)
    times, plan = [], None
    with app.uow() as uow:
        decide(uow, config, as_of)  # warm-up: engine, first queries
        uow.rollback()
        for _ in range(repeat):
            t0 = time.perf_counter()
            plan = decide(uow, config, as_of)
            times.append(time.perf_counter() - t0)
            uow.rollback()  # a new transaction, so no identity-map reuse makes later runs cheaper
    assert plan is not None
    items = sum(len(v) for v in plan.owed.values())
    what = {
        "owing_units": len(plan.owed),
        "owed_items": items,
        "letters": [f"{s.requirement} {s.period} ({len(s.units)} units)" for s in plan.letters],
        "escalations": [f"{s.requirement} {s.period}" for s in plan.escalations],
    }
    return times, what


def product_run(home: Path, sink_url: str) -> tuple[float, object]:
    """One end-to-end run of the flow's task on ``home``; returns (seconds, RemindReport)."""
    from flows.remind import send_reminders
    from followup.settings import Settings

    collect.set_env(FOLLOWUP_HOME=str(home), FOLLOWUP_NOW=REMIND_NOW, FOLLOWUP_SMTP_URL=sink_url)
    settings = Settings()
    t0 = time.perf_counter()
    report = send_reminders.fn(settings, REMIND_NOW, False)
    return time.perf_counter() - t0, report


def captured_run(home: Path, sink_url: str, profile: bool):  # type: ignore[no-untyped-def]
    """An untimed product run keeping every envelope and the exact bytes sent (optionally under cProfile).

    The remind path composes in the sending thread (``deliver`` without ``ahead``), so one profiler sees it all."""
    from followup.mail import sender as outbox

    captured: list[tuple[str, list[str], bytes]] = []
    original = outbox.SmtpSender.send

    def recording_send(self, from_addr, recipients, data):  # type: ignore[no-untyped-def]
        captured.append((from_addr, list(recipients), data))
        return original(self, from_addr, recipients, data)

    outbox.SmtpSender.send = recording_send  # type: ignore[method-assign]
    profiler = cProfile.Profile() if profile else None
    try:
        if profiler:
            profiler.enable()
        seconds, report = product_run(home, sink_url)
    finally:
        if profiler:
            profiler.disable()
        outbox.SmtpSender.send = original  # type: ignore[method-assign]
    return captured, seconds, report, (pstats.Stats(profiler) if profiler else None)


BREAKDOWN = [  # (label, file suffix, function)
    ("send_reminders (the task)", "flows/remind.py", "send_reminders"),
    ("  bootstrap: Settings.load (cached config)", "followup/settings.py", "load"),
    ("  open_database (engine + alembic)", "followup/storage/db.py", "open_database"),
    ("  sync_config", "followup/storage/repository.py", "sync_config"),
    ("  decide", "followup/services/remind.py", "decide"),
    ("    directive_status", "followup/services/status.py", "directive_status"),
    ("  issue_follow_up (công văn đôn đốc)", "followup/services/remind.py", "issue_follow_up"),
    ("  _record_reminder", "followup/services/remind.py", "_record_reminder"),
    ("    add_unique (savepoints)", "followup/storage/repository.py", "add_unique"),
    ("  deliver", "followup/services/outgoing.py", "deliver"),
    ("    claim_messages", "followup/storage/repository.py", "claim_messages"),
    ("    build (reminder from the store)", "followup/services/remind.py", "build"),
    ("      reminders_of_message", "followup/storage/repository.py", "reminders_of_message"),
    ("      latest_rejections", "followup/storage/repository.py", "latest_rejections"),
    ("      _kit (mail_kit: letter bytes)", "followup/services/remind.py", "_kit"),
    ("      MailKit.form_for", "followup/services/dispatch.py", "form_for"),
    ("        form build (openpyxl)", "followup/forms/children_list.py", "build"),
    ("        FormTemplate.fill", "followup/forms/prefill.py", "fill"),
    ("      render (Jinja)", "followup/mail/templates.py", "render"),
    ("    compose (yagmail + as_bytes)", "followup/mail/compose.py", "compose"),
    ("    SmtpSender.send (sendmail)", "followup/mail/sender.py", "send"),
    ("    Session.commit", "sqlalchemy/orm/session.py", "commit"),
]


# --------------------------------------------------------------------------- main


def main() -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=10_000, help="10000 (default); 2000 for a quick run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--decide-repeat", type=int, default=5)
    parser.add_argument("--skip-profile", action="store_true", help="capture without cProfile")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached setup")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--json", type=Path, default=OUT / "remind.json")
    args = parser.parse_args()

    load0 = [round(x, 2) for x in os.getloadavg()]
    print(f"# load average at start (1/5/15 min): {load0}", flush=True)
    started = time.perf_counter()
    for key in [k for k in os.environ if k.startswith("FOLLOWUP_")]:
        del os.environ[key]
    work = Path(tempfile.mkdtemp(prefix="followup-bench-remind-"))
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect-inproc"))  # never touch ~/.prefect
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    t0 = time.perf_counter()
    import flows.dispatch  # noqa: F401  (prefect import: not part of any figure)
    import flows.remind  # noqa: F401

    results: dict = {
        "units": args.units,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": load0,
        "git_head": collect.git("rev-parse", "HEAD"),
        "git_dirty": collect.git("status", "--porcelain", "--", "followup", "flows"),
        "import_s": round(time.perf_counter() - t0, 2),
        "remind_at": REMIND_NOW,
        "sink": "aiosmtpd in a separate process (bench/smtp_sink.py)",
    }
    sink = None
    try:
        cache = prepare(args.units, args.fresh)
        snapshot, config_dir = cache / "snapshot", cache / "config"
        results["setup"] = json.loads((cache / "meta.json").read_text(encoding="utf-8"))
        os.environ["FOLLOWUP_CONFIG"] = str(config_dir)
        collect.warm_config_cache(SimpleNamespace(snapshot=snapshot, config=config_dir))
        from followup.bootstrap import App
        from followup.settings import Settings

        config = App(Settings()).config
        owing = expected_owing(config, dt.datetime.fromisoformat(REMIND_NOW))
        expected = owing + 1  # one reminder per owing unit, one summary for leadership
        results.update(expected_owing_units=owing, expected_messages=expected)
        print(
            f"# {args.units} units, {results['setup']['replies']} accepted replies; at {REMIND_NOW}: "
            f"{owing} units owe the list -> {expected} messages expected",
            flush=True,
        )

        # ---------------------------------------------------------------- decide, in process
        decide_home = fresh_home(snapshot, work, "home-decide")
        decide_s, plan = decide_runs(decide_home, REMIND_NOW, args.decide_repeat)
        if plan["owing_units"] != owing:
            raise RuntimeError(f"decide at {REMIND_NOW}: {plan} (expected {owing} owing units)")
        may_s, may_plan = decide_runs(decide_home, MAY_NOW, args.decide_repeat)
        results["decide"] = {
            "at": REMIND_NOW, "s": [round(x, 4) for x in decide_s], "median_s": round(median(decide_s), 4),
            "goal_s": 1.0, "plan": plan,
        }  # fmt: skip
        results["decide_may"] = {
            "at": MAY_NOW, "s": [round(x, 4) for x in may_s], "median_s": round(median(may_s), 4), "plan": may_plan,
        }  # fmt: skip
        print(f"decide at {REMIND_NOW}: median {median(decide_s):.3f} s of {decide_s and len(decide_s)}; {plan}")
        print(f"decide at {MAY_NOW}: median {median(may_s):.3f} s; {may_plan}", flush=True)
        shutil.rmtree(decide_home, ignore_errors=True)

        # ---------------------------------------------------------------- capture (+ profile), warm-up
        sink = dispatch.SinkProcess()

        def check(which: str, got: int, report=None) -> None:  # type: ignore[no-untyped-def]
            if report is not None:
                counts = report.counts()
                if counts["sent"] != expected or counts["failed"] or len(report.plan.owed) != owing:
                    raise RuntimeError(f"{which}: {counts}, {len(report.plan.owed)} units owing, expected {owing}")
            if got != expected:
                raise RuntimeError(f"{which}: the sink received {got} messages, expected {expected}")

        home = fresh_home(snapshot, work, "home-capture")
        n0 = sink.count()[0]
        messages, capture_s, report, stats = captured_run(home, sink.url, profile=not args.skip_profile)
        check("capture run", sink.count()[0] - n0, report)
        if len(messages) != expected:
            raise RuntimeError(f"capture run kept {len(messages)} messages, expected {expected}")
        shutil.rmtree(home, ignore_errors=True)
        sizes = [len(m[2]) for m in messages]
        results.update(
            capture_run_s=round(capture_s, 2),
            message_bytes_mean=round(statistics.mean(sizes)),
            letters=[str(p.name) for p in report.letters],
        )
        print(
            f"capture{'+profile' if stats else ''} run: {capture_s:.1f} s, {len(messages)} messages "
            f"(mean {statistics.mean(sizes) / 1024:.0f} KiB), {len(report.letters)} công văn đôn đốc",
            flush=True,
        )

        # ---------------------------------------------------------------- product vs baseline, alternating
        product, baseline = [], []
        cpu: dict[str, list[tuple[float, float]]] = {"product": [], "baseline": []}
        for r in range(args.repeat):
            order = ("product", "baseline") if r % 2 == 0 else ("baseline", "product")
            for which in order:
                if which == "product":
                    home = fresh_home(snapshot, work, f"home-{r}")  # untimed copy
                n0, sink_cpu0, cpu0 = sink.count()[0], sink.cpu_seconds(), time.process_time()
                if which == "product":
                    seconds, report = product_run(home, sink.url)
                    product.append(seconds)
                else:
                    seconds, report = dispatch.baseline_run(sink.port, messages), None
                    baseline.append(seconds)
                cpu[which].append((time.process_time() - cpu0, sink.cpu_seconds() - sink_cpu0))
                check(f"{which} run {r + 1}", sink.count()[0] - n0, report)
                if which == "product":
                    shutil.rmtree(home, ignore_errors=True)
                print(
                    f"  run {r + 1} {which:8s} {seconds:7.2f} s wall, {cpu[which][-1][0]:6.2f} s client CPU, "
                    f"{cpu[which][-1][1]:6.2f} s sink CPU",
                    flush=True,
                )
        del messages
        p, b = median(product), median(baseline)
        results.update(
            product_s=[round(x, 3) for x in product],
            baseline_s=[round(x, 3) for x in baseline],
            product_median_s=round(p, 3),
            baseline_median_s=round(b, 3),
            product_msgs_per_s=round(expected / p, 1),
            baseline_msgs_per_s=round(expected / b, 1),
            ratio=round(p / b, 2),
            ratio_goal=1.3,
            product_client_cpu_median_s=round(median([c for c, _ in cpu["product"]]), 2),
            product_sink_cpu_median_s=round(median([k for _, k in cpu["product"]]), 2),
            baseline_client_cpu_median_s=round(median([c for c, _ in cpu["baseline"]]), 2),
            baseline_sink_cpu_median_s=round(median([k for _, k in cpu["baseline"]]), 2),
        )

        # ---------------------------------------------------------------- report
        d = results["decide"]["median_s"]
        print()
        print(f"{'measurement':52s} {'median s':>9s} {'msg/s':>8s}")
        label = f"product  send_reminders.fn, {expected} messages"
        print(f"{label:52s} {p:9.2f} {expected / p:8.0f}")
        print(f"{'baseline raw smtplib, same bytes':52s} {b:9.2f} {expected / b:8.0f}")
        print(f"{'ratio product/baseline (goal <= 1.3)':52s} {p / b:9.2f}")
        print(f"{'  CPU s (client/sink), product':52s} {results['product_client_cpu_median_s']:9.2f} "
              f"/ {results['product_sink_cpu_median_s']:.2f}")  # fmt: skip
        print(f"{'  CPU s (client/sink), baseline':52s} {results['baseline_client_cpu_median_s']:9.2f} "
              f"/ {results['baseline_sink_cpu_median_s']:.2f}")  # fmt: skip
        print(f"{f'decide, {args.units} units, 2023-02-27 (goal <= 1 s)':52s} {d:9.3f}")
        print(f"{f'decide, {args.units} units, 2023-05-12':52s} {results['decide_may']['median_s']:9.3f}")
        if stats is not None:
            rows = dispatch.breakdown(stats, BREAKDOWN)
            results["profile_run_s"] = round(capture_s, 2)
            results["profile_breakdown"] = rows
            print(f"\n# breakdown of the profiled product run ({capture_s:.1f} s under cProfile)")
            for row in rows:
                print(f"{row['what']:46s} {row['calls']:>7d} calls {row['cum_s']:8.2f} s {row['share'] * 100:5.1f} %")
            for sort, name in (("cumulative", "cumulative"), ("tottime", "own")):
                text = dispatch.top_text(stats, sort, args.top)
                print(f"\n# top {args.top} by {name} time\n{text}")
                results[f"profile_top_{sort}"] = text.splitlines()
    finally:
        if sink is not None:
            sink.close()
        shutil.rmtree(work, ignore_errors=True)

    return dispatch.finish(results, started, args.json)


if __name__ == "__main__":
    sys.exit(main())
