"""Benchmark: compiling the district's report of 2023-H1 (``followup report``) at 10,000 units and 200,000 children.

    .venv/bin/python bench/report.py [--units 10000] [--repeat 3] [--full-repeat 1] [--skip-district]
        [--skip-profile] [--fresh] [--json PATH]

1. SETUP (cached under bench/out/report-cache/, keyed by the number of units and a hash of the generated
   configuration): bench/dispatch.py's ``make_config`` (half communes, half departments), the dispatched home of
   bench/remind.py's ``dispatched_home`` (collect.py's snapshot copied, else one dispatch into the Maildir
   outbox), then accepted replies inserted directly in the store (no e-mail is built or read):
   * every commune's children list of 2023 (41 ``ChildRecord`` rows each, from
     ``followup.simulation.synthetic_children``; 2.5 % missing, 2.5 % late, 2.5 % with an older list superseded);
   * every unit's first-half report of 2023 (summary ``{"values": ...}``, content with the narrative): 5 %
     missing, 5 % rejected only, 5 % late, 5 % with an older reply superseded whose values are 1000 times as big,
     so counting it would show; 2 % of the communes' difficulties name a child of their list (must be redacted);
   * a quarter of the units' reports of 2022-H1 ("so với cùng kỳ").
   The figures the report must give are computed from what was inserted (meta.json) and checked on every run.
2. RUNS, each in a fresh process on a fresh copy of the home (copy untimed), ``FOLLOWUP_NOW=2023-06-05 08:00``:
   ``flows.report.compile_and_send.fn(settings, directive, "2023-H1", send)``, the task the clerk's command runs.
   The child reports the task's wall time, the time of each phase and the peak RSS after it; the parent reads
   the child's peak RSS from ``os.wait4`` (ru_maxrss). Modes: *compile* (LibreOffice's PDF skipped, nothing sent:
   ``to_pdf`` answers None as without LibreOffice), median of --repeat; *full* (PDF and --send to the Maildir
   outbox, as the clerk runs it where LibreOffice is installed), --full-repeat runs. Goal <= 60 s, <= 1 GiB.
3. PROFILE (unless --skip-profile): one compile run under cProfile in its own process, breakdown and top lists.
4. DISTRICT: ``followup demo`` once (the built-in 36 units), then ``followup report 2023-child-protection
   --period 2023-H1`` as a subprocess on its home, median of --repeat (goal <= 5 s), against ``followup --help``
   (the command line's floor) in the same run; one more run under cProfile to split the wall time; then the same
   command --repeat times while ``followup serve`` stands for the folder (the report runs as a Prefect flow).

Figures go to stdout and bench/out/report.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from types import ModuleType, SimpleNamespace

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
CACHE = OUT / "report-cache"
PYTHON = Path(sys.executable)
sys.path.insert(0, str(ROOT))  # flows/ lives at the repo root

DIRECTIVE = "2023-child-protection"
PERIOD = "2023-H1"
REPORT_NOW = "2023-06-05T08:00+07:00"  # after the H1 deadline (before 15/05) and the late replies (22/05)
DEMO_REPORT_NOW = "2023-02-27T08:00:00+07:00"  # the demo compiles 2023-H1 at its collect moment
ROWS_PER_LIST = 41  # 4,875 accepted lists of 41 rows = 199,875 children at 10,000 units
LIST_SLOT = ("danh-sach-tre-em", "2023")
REPORT_SLOT = ("bao-cao-6-thang", "2023-H1")
PREVIOUS_SLOT = ("bao-cao-6-thang", "2022-H1")
GOAL_S, GOAL_RSS_MIB, DISTRICT_GOAL_S = 60.0, 1024.0, 5.0


def _load(name: str, file: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


remind = _load("bench_remind", "remind.py")  # dispatched_home, fresh_home
collect = remind.collect  # set_env, tree_digest, warm_config_cache, git
dispatch = remind.dispatch  # make_config, breakdown, top_text, median
median = dispatch.median


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


# --------------------------------------------------------------------------- setup (cached)


def prepare(units: int, fresh: bool) -> Path:
    """The cache folder (config/, snapshot/, meta.json) for ``units`` units, built once (remind.py's setup,
    with this benchmark's replies)."""
    return remind.prepare(units, fresh, CACHE, insert_replies)


INDICATORS = ("tong_so_tre_em", "tre_em_hcdb", "tre_em_hcdb_duoc_tro_giup", "tre_em_hckk", "vu_xam_hai",
              "tre_em_tai_nan", "tre_em_duoi_nuoc", "buoi_tuyen_truyen", "kinh_phi")  # fmt: skip


def values_of(i: int, scale: int = 1) -> dict[str, int | None]:
    hcdb, accidents = 5 + i % 20, i % 5
    v: dict[str, int | None] = {
        "tong_so_tre_em": 500 + i % 300, "tre_em_hcdb": hcdb, "tre_em_hcdb_duoc_tro_giup": min(hcdb, 3 + i % 15),
        "tre_em_hckk": 10 + i % 40, "vu_xam_hai": i % 3, "tre_em_tai_nan": accidents,
        "tre_em_duoi_nuoc": min(accidents, i % 2), "buoi_tuyen_truyen": 2 + i % 6,
        "kinh_phi": None if i % 7 == 0 else 1_000_000 * (1 + i % 50),
    }  # fmt: skip
    return {k: None if x is None else x * scale for k, x in v.items()}


def narrative_of(i: int, name: str, child: str | None) -> dict[str, str]:
    results = (
        f"{name} đã tổ chức {2 + i % 6} buổi tuyên truyền về quyền trẻ em, phòng chống xâm hại và đuối nước trẻ "
        f"em tại các thôn, bản; rà soát, cập nhật danh sách trẻ em có hoàn cảnh đặc biệt; phối hợp với nhà trường "
        f"và các đoàn thể trong việc chăm sóc, giáo dục trẻ em.\nĐã trao {i % 30} suất quà cho trẻ em nghèo."
    )
    hard = "" if i % 5 == 0 else (
        "Kinh phí cho công tác trẻ em còn hạn chế; đội ngũ cộng tác viên thường xuyên thay đổi, kiêm nhiệm "
        "nhiều việc; địa bàn rộng, giao thông đi lại khó khăn vào mùa mưa."
    )  # fmt: skip
    if child:
        hard += f"\nTrường hợp cháu {child} ở thôn Nà Pài cần được hỗ trợ khẩn cấp."
    proposals = "" if i % 3 == 0 else "Đề nghị huyện bố trí thêm kinh phí và tổ chức tập huấn cho cộng tác viên."
    return {"ket_qua": results, "kho_khan": hard, "de_xuat": proposals}


def insert_replies(home: Path, config_dir: Path) -> dict:  # noqa: PLR0915 - one linear setup
    """Submissions (with their IncomingMessage) and ChildRecord rows, in bulk; the figures they must give."""
    from sqlalchemy import func, insert, select

    from followup.bootstrap import App
    from followup.domain.states import IncomingStatus, SubmissionStatus
    from followup.settings import Settings
    from followup.simulation.people import synthetic_children
    from followup.storage.models import ChildRecord, IncomingMessage, Submission

    collect.set_env(FOLLOWUP_HOME=str(home), FOLLOWUP_CONFIG=str(config_dir), FOLLOWUP_NOW=REPORT_NOW)
    app = App(Settings())
    config = app.config
    units = list(config.recipients.units)
    incoming_rows: list[dict] = []
    submission_rows: list[dict] = []
    child_rows: list[dict] = []
    with app.uow() as uow:
        uow.repo.sync_config(config, uow.now())
        next_in = (uow.session.scalar(select(func.max(IncomingMessage.id))) or 0) + 1
        next_sub = (uow.session.scalar(select(func.max(Submission.id))) or 0) + 1

        def reply(unit, slot, received, status, summary, content, children=()):  # type: ignore[no-untyped-def]
            nonlocal next_in, next_sub
            when = at(received)
            incoming_rows.append(dict(
                id=next_in, source="hand", dedup_key=f"bench-report.{slot[0]}.{slot[1]}.{unit.code}.{received}",
                sha256="0" * 64, message_id=None, raw_path="", size=0, from_addr=unit.emails[0],
                subject=f"[bench] {slot[0]} {slot[1]}", received_at=when, collected_at=when,
                status=IncomingStatus.PROCESSED,
            ))  # fmt: skip
            submission_rows.append(dict(
                id=next_sub, incoming_id=next_in, attachment_name=None, attachment_path=None, attachment_sha256=None,
                directive_code=DIRECTIVE, requirement_code=slot[0], period=slot[1], unit_code=unit.code,
                received_at=when, status=status, reason=None, evidence=["bench"], problems=[], summary=summary,
                content=content, decided_at=when, decided_by="bench",
            ))  # fmt: skip
            for row, c in enumerate(children, 6):
                child_rows.append(dict(
                    submission_id=next_sub, source_row=row, name=c.name, birth_date=c.birth_date, sex=c.sex,
                    ethnicity=c.ethnicity, village=c.village, carer=c.carer, groups=list(c.groups),
                    difficult=c.difficult, support=c.support, note=c.note,
                ))  # fmt: skip
            next_in, next_sub = next_in + 1, next_sub + 1

        def list_summary(children) -> dict:  # type: ignore[no-untyped-def]
            by_group: dict[str, int] = {}
            for c in children:
                for g in c.groups:
                    by_group[g] = by_group.get(g, 0) + 1
            return {"rows": len(children), "special": sum(1 for c in children if c.groups),
                    "difficult": sum(1 for c in children if c.difficult), "by_group": by_group}  # fmt: skip

        want = {"indicators": dict.fromkeys(INDICATORS, 0), "reported": dict.fromkeys(INDICATORS, 0),
                "children": {"rows": 0, "special": 0, "difficult": 0}, "report": {}, "list": {},
                "previous": dict.fromkeys(INDICATORS, 0)}  # fmt: skip
        states = {"report": {"on_time": 0, "late": 0, "missing": 0}, "list": {"on_time": 0, "late": 0, "missing": 0}}
        redacted: list[str] = []
        accepted_children = 0
        for i, unit in enumerate(units):
            commune = i % 2 == 0
            own: list = []
            if commune:  # the children list of 2023
                kind = i % 40
                if kind == 2:
                    states["list"]["missing"] += 1
                else:
                    own = synthetic_children(ROWS_PER_LIST, seed=unit.code)
                    if kind == 6:
                        old = synthetic_children(ROWS_PER_LIST, seed=f"{unit.code}-old")
                        reply(unit, LIST_SLOT, "2023-02-10T09:00+07:00", SubmissionStatus.SUPERSEDED,
                              list_summary(old), {}, old)  # fmt: skip
                    received = "2023-03-01T10:00+07:00" if kind == 4 else f"2023-02-15T09:{i % 60:02d}+07:00"
                    reply(unit, LIST_SLOT, received, SubmissionStatus.ACCEPTED, list_summary(own), {}, own)
                    states["list"]["late" if kind == 4 else "on_time"] += 1
                    summary = list_summary(own)
                    for key in ("rows", "special", "difficult"):
                        want["children"][key] += summary[key]
                    accepted_children += len(own)
            kind = i % 20  # the first-half report of 2023
            if kind in (1, 7):
                states["report"]["missing"] += 1
                if kind == 7:
                    reply(unit, REPORT_SLOT, "2023-04-18T08:00+07:00", SubmissionStatus.REJECTED, {}, {})
            else:
                if kind == 5:
                    big = values_of(i, 1000)
                    reply(unit, REPORT_SLOT, "2023-04-10T08:00+07:00", SubmissionStatus.SUPERSEDED,
                          {"values": big}, {"values": big, "narrative": narrative_of(i, "(cũ)", None)})  # fmt: skip
                child = own[0].name if commune and own and i % 50 == 0 else None
                if child:
                    redacted.append(child)
                values = values_of(i)
                received = {3: "2023-05-22T09:00+07:00", 5: "2023-04-25T15:00+07:00"}.get(
                    kind, f"2023-04-20T09:{i % 60:02d}+07:00"
                )
                reply(unit, REPORT_SLOT, received, SubmissionStatus.ACCEPTED, {"values": values},
                      {"values": values, "narrative": narrative_of(i, unit.name, child)})  # fmt: skip
                states["report"]["late" if kind == 3 else "on_time"] += 1
                for code, v in values.items():
                    if v is not None:
                        want["indicators"][code] += v
                        want["reported"][code] += 1
            if i % 4 == 0:  # the same period of last year
                values = values_of(i + 1)
                reply(unit, PREVIOUS_SLOT, "2022-04-20T09:00+07:00", SubmissionStatus.ACCEPTED, {"values": values},
                      {"values": values, "narrative": {}})  # fmt: skip
                for code, v in values.items():
                    want["previous"][code] += v or 0
        uow.session.execute(insert(IncomingMessage), incoming_rows)
        uow.session.execute(insert(Submission), submission_rows)
        for start in range(0, len(child_rows), 20_000):
            uow.session.execute(insert(ChildRecord), child_rows[start : start + 20_000])
        uow.commit()
    communes = sum(1 for i in range(len(units)) if i % 2 == 0)
    for which, expected in (("report", len(units)), ("list", communes)):
        s = states[which]
        want[which] = {"expected": expected, "accepted": s["on_time"] + s["late"], **s}
    return {
        "inserted": {
            "incoming": len(incoming_rows),
            "submissions": len(submission_rows),
            "child_records": len(child_rows),
            "accepted_children": accepted_children,
        },  # fmt: skip
        "want": want,
        "redacted_names": redacted,
    }


def check(counts: dict, want: dict) -> list[str]:
    """What a run's ``Compilation.counts()`` gets wrong against the figures of the setup."""
    bad = []
    if counts["indicators"] != want["indicators"]:
        bad.append(f"indicators {counts['indicators']} != {want['indicators']}")
    got = {k: counts["children"][k] for k in ("rows", "special", "difficult")}
    if got != want["children"]:
        bad.append(f"children {got} != {want['children']}")
    for row, which in zip(counts["completeness"], ("report", "list"), strict=True):
        w = want[which]
        g = {k: row[k] for k in ("expected", "accepted", "on_time", "late", "missing")}
        if g != {k: w[k] for k in ("expected", "accepted", "on_time", "late", "missing")}:
            bad.append(f"{which} completeness {g} != {w}")
    return bad


# --------------------------------------------------------------------------- one run in a fresh process


PHASES = [  # (label, module, attribute): wrapped in the child to time each phase and the RSS after it
    ("compile_report (queries + compile_period)", "followup.services.report", "compile_report"),
    ("  accepted_replies", "followup.storage.repository", "Repository.accepted_replies"),
    ("  accepted_children (streamed)", "followup.storage.repository", "Repository.accepted_children"),
    ("  directive_status", "followup.services.report", "directive_status"),
    ("  compile_period", "followup.services.report", "compile_period"),
    ("render_report (docx)", "followup.documents.report", "render_report"),
    ("to_pdf (LibreOffice, on a thread)", "followup.services.report", "to_pdf"),
    ("annex_workbook", "followup.documents.annex", "annex_workbook"),
    ("chart_png", "followup.documents.chart", "chart_png"),
    ("child_rows (streamed)", "followup.services.report", "child_rows"),
    ("restricted_workbook", "followup.documents.annex", "restricted_workbook"),
    ("deliver (summaries)", "followup.services.outgoing", "deliver"),
]


def child_main(home: str, pdf: bool, send: bool, profile: str | None) -> None:
    """In the fresh process: import, then run the task once; one JSON line on stdout."""
    t0 = time.perf_counter()
    import flows.report as flow_module

    import_s = time.perf_counter() - t0
    rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    from followup.settings import Settings

    timings: dict[str, list[float]] = {}

    def wrap(label: str, owner, name: str) -> None:  # type: ignore[no-untyped-def]
        original = getattr(owner, name)

        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                entry = timings.setdefault(label, [0.0, 0, 0.0])
                entry[0] += time.perf_counter() - t
                entry[1] += 1
                entry[2] = rss

        setattr(owner, name, timed)

    if not pdf:
        import followup.services.report as service

        service.to_pdf = lambda *a, **k: None  # as without LibreOffice
    for label, module, attribute in PHASES:
        owner = importlib.import_module(module)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        wrap(label, owner, name)

    collect.set_env(FOLLOWUP_HOME=home, FOLLOWUP_NOW=REPORT_NOW)
    settings = Settings()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    result = flow_module.compile_and_send.fn(settings, DIRECTIVE, PERIOD, send, None)
    task_s = time.perf_counter() - t0
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    out = {
        "import_s": import_s,
        "task_s": task_s,
        "rss_after_import_mib": rss_import,
        "phases": {k: {"s": v[0], "calls": v[1], "peak_rss_after_mib": v[2]} for k, v in timings.items()},
        "counts": result.compilation.counts(),
        "paths": {k: str(p) for k, p in result.paths.items()},
        "sizes": {k: p.stat().st_size for k, p in result.paths.items()},
        "sent": result.counts(),
        "number": result.number,
    }
    print("RESULT " + json.dumps(out, ensure_ascii=False), flush=True)


def run_child(home: Path, pdf: bool, send: bool, profile: Path | None = None) -> dict:
    """One run in a fresh interpreter: wall time of the process, its peak RSS (wait4), and what it printed."""
    command = [str(PYTHON), str(Path(__file__).resolve()), "--child", str(home)]
    command += ["--pdf"] if pdf else []
    command += ["--send"] if send else []
    command += ["--profile-out", str(profile)] if profile else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out_path, err_path = home.with_name(home.name + ".out"), home.with_name(home.name + ".err")
    with out_path.open("wb") as out_file, err_path.open("wb") as err_file:
        t0 = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out_file, stderr=err_file, cwd=str(home))
        _, status, usage = os.wait4(proc.pid, 0)  # reaps it with its own rusage (ru_maxrss of that child)
        wall = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    stdout, stderr = out_path.read_text("utf-8", "replace"), err_path.read_text("utf-8", "replace")
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    if code != 0 or not lines:
        raise RuntimeError(f"child exited {code}:\n{stdout[-2000:]}\n{stderr[-4000:]}")
    out = json.loads(lines[-1][len("RESULT ") :])
    out.update(process_s=wall, peak_rss_mib=usage.ru_maxrss / 1024, cpu_s=usage.ru_utime + usage.ru_stime)
    return out


def redaction_leaks(docx: Path, names: list[str]) -> list[str]:
    """The names that should have been redacted and still appear in the report's text."""
    with zipfile.ZipFile(docx) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    return [n for n in names if n in xml]


# --------------------------------------------------------------------------- the real district via the CLI


def cli(args: list[str], env: dict, cwd: Path, timeout: float = 600) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return elapsed


def district(work: Path, repeat: int, profile: bool) -> dict:
    from followup.settings import DEFAULTS

    followup = str(PYTHON.parent / "followup")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FOLLOWUP_"))}
    base.update(FOLLOWUP_CONFIG=str(DEFAULTS), PREFECT_HOME=str(work / "district-prefect"), COLUMNS="120",
                FOLLOWUP_LANGUAGE="en")  # fmt: skip
    root = work / "district"
    root.mkdir()
    demo_s = cli([followup, "demo"], dict(base, FOLLOWUP_HOME=str(root)), root)
    home = root / "demo"
    env = dict(base, FOLLOWUP_HOME=str(home), FOLLOWUP_NOW=DEMO_REPORT_NOW)
    command = [followup, "report", DIRECTIVE, "--period", PERIOD]
    floor = [cli([followup, "--help"], env, home) for _ in range(repeat)]
    runs = [cli(command, env, home) for _ in range(repeat)]  # no Prefect server standing: the job runs directly
    out: dict = {"demo_s": round(demo_s, 2), "report_s": [round(x, 2) for x in runs],
                 "report_median_s": round(median(runs), 2), "help_median_s": round(median(floor), 2),
                 "goal_s": DISTRICT_GOAL_S}  # fmt: skip
    pdf = sorted((home / "reports" / DIRECTIVE / PERIOD).glob("*.pdf"))
    out["pdf"] = bool(pdf)
    if profile:
        stats_path = work / "district.prof"
        py = [str(PYTHON), "-m", "cProfile", "-o", str(stats_path), "-m", "followup"]
        out["profiled_s"] = round(cli(py + command[1:], env, home), 2)
        out["breakdown"] = dispatch.breakdown(pstats.Stats(str(stats_path)), DISTRICT_BREAKDOWN)
    served = served_reports(followup, env, home, repeat)
    out["served_s"] = [round(x, 2) for x in served]
    out["served_median_s"] = round(median(served), 2)
    return out


def served_reports(followup: str, env: dict, home: Path, repeat: int) -> list[float]:
    """The same command while `followup serve` stands for the data folder: it runs as a Prefect flow, recorded
    in the UI (Prefect's import and engine, and the server's own CPU on the same machine)."""
    sys.path.insert(0, str(ROOT / "tests"))  # serving.py: serve started and stopped as the clerk does
    from serving import followup_serve

    with followup_serve(env, home / "serve.log", [followup], cwd=home):
        return [cli([followup, "report", DIRECTIVE, "--period", PERIOD], env, home) for _ in range(repeat)]


DISTRICT_BREAKDOWN = [
    ("_jobs (a standing Prefect server? config)", "followup/cli/__init__.py", "_jobs"),
    ("report_one (the job)", "followup/jobs.py", "report_one"),
    ("  compile_report", "followup/services/report.py", "compile_report"),
    ("  render_report (docx)", "followup/documents/report.py", "render_report"),
    ("  to_pdf (LibreOffice; on a thread: not profiled)", "followup/documents/libreoffice.py", "to_pdf"),
    ("  annex_workbook", "followup/documents/annex.py", "annex_workbook"),
    ("  chart_png (matplotlib)", "followup/documents/chart.py", "chart_png"),
    ("  restricted_workbook", "followup/documents/annex.py", "restricted_workbook"),
]

BREAKDOWN = [
    ("compile_and_send (the task)", "flows/report.py", "compile_and_send"),
    ("  Settings.load / App config", "followup/settings.py", "load"),
    ("  sync_config", "followup/storage/repository.py", "sync_config"),
    ("  compile_report", "followup/services/report.py", "compile_report"),
    ("    accepted_replies", "followup/storage/repository.py", "accepted_replies"),
    ("    accepted_children", "followup/storage/repository.py", "accepted_children"),
    ("    directive_status", "followup/services/status.py", "directive_status"),
    ("    compile_period", "followup/domain/compilation.py", "compile_period"),
    ("      Redactor.__call__ (redaction)", "followup/domain/compilation.py", "__call__"),
    ("  render_report (docx)", "followup/documents/report.py", "render_report"),
    ("    render_document (docxtpl/Jinja)", "followup/documents/letter.py", "render_document"),
    ("    _fit (table widths)", "followup/documents/report.py", "_fit"),
    ("  annex_workbook", "followup/documents/annex.py", "annex_workbook"),
    ("  chart_png", "followup/documents/chart.py", "chart_png"),
    ("  child_rows", "followup/services/report.py", "child_rows"),
    ("  restricted_workbook", "followup/documents/annex.py", "restricted_workbook"),
    ("    Workbook.save", "openpyxl/workbook/workbook.py", "save"),
]


# --------------------------------------------------------------------------- main


def summarise(runs: list[dict]) -> dict:
    phases = sorted({k for r in runs for k in r["phases"]}, key=[p[0] for p in PHASES].index)
    return {
        "task_s": [round(r["task_s"], 2) for r in runs],
        "process_s": [round(r["process_s"], 2) for r in runs],
        "peak_rss_mib": [round(r["peak_rss_mib"]) for r in runs],
        "cpu_s": [round(r["cpu_s"], 2) for r in runs],
        "task_median_s": round(median([r["task_s"] for r in runs]), 2),
        "process_median_s": round(median([r["process_s"] for r in runs]), 2),
        "peak_rss_median_mib": round(median([r["peak_rss_mib"] for r in runs])),
        "import_median_s": round(median([r["import_s"] for r in runs]), 2),
        "rss_after_import_mib": round(median([r["rss_after_import_mib"] for r in runs])),
        "phases": {
            p: {
                "median_s": round(median([r["phases"][p]["s"] for r in runs if p in r["phases"]]), 3),
                "peak_rss_after_mib": round(
                    median([r["phases"][p]["peak_rss_after_mib"] for r in runs if p in r["phases"]])
                ),  # fmt: skip
            }
            for p in phases
        },
        "sizes": runs[-1]["sizes"],
        "sent": runs[-1]["sent"],
    }


def main() -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="compile runs (and district runs)")
    parser.add_argument("--full-repeat", type=int, default=1, help="runs with the PDF and --send")
    parser.add_argument("--skip-district", action="store_true")
    parser.add_argument("--skip-profile", action="store_true")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached setup")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--json", type=Path, default=OUT / "report.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--pdf", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--send", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.pdf, args.send, args.profile_out)
        return 0

    load0 = [round(x, 2) for x in os.getloadavg()]
    print(f"# load average at start (1/5/15 min): {load0}", flush=True)
    started = time.perf_counter()
    for key in [k for k in os.environ if k.startswith("FOLLOWUP_")]:
        del os.environ[key]
    work = Path(tempfile.mkdtemp(prefix="followup-bench-report-"))
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect-inproc"))  # never touch ~/.prefect
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    results: dict = {
        "units": args.units, "repeat": args.repeat, "full_repeat": args.full_repeat,
        "python": platform.python_version(), "cpus": os.cpu_count(), "loadavg_at_start": load0,
        "git_head": collect.git("rev-parse", "HEAD"),
        "git_dirty": collect.git("status", "--porcelain", "--", "followup", "flows"),
        "report_at": REPORT_NOW, "period": PERIOD, "soffice": shutil.which("soffice"),
        "goals": {"s": GOAL_S, "rss_mib": GOAL_RSS_MIB, "district_s": DISTRICT_GOAL_S},
    }  # fmt: skip
    try:
        cache = prepare(args.units, args.fresh)
        snapshot, config_dir = cache / "snapshot", cache / "config"
        meta = json.loads((cache / "meta.json").read_text(encoding="utf-8"))
        results["setup"] = {k: v for k, v in meta.items() if k != "redacted_names"}
        os.environ["FOLLOWUP_CONFIG"] = str(config_dir)
        collect.warm_config_cache(SimpleNamespace(snapshot=snapshot, config=config_dir))
        print(f"# {args.units} units; {meta['inserted']}", flush=True)

        def one(name: str, pdf: bool, send: bool, profile: Path | None = None) -> dict:
            home = remind.fresh_home(snapshot, work, name)  # untimed copy
            run = run_child(home, pdf, send, profile)
            bad = check(run["counts"], meta["want"])
            leaks = redaction_leaks(Path(run["paths"]["report"]), meta["redacted_names"])
            if bad or leaks:
                raise RuntimeError(f"{name}: wrong figures {bad}; names not redacted: {leaks[:5]}")
            shutil.rmtree(home, ignore_errors=True)
            phases = ", ".join(f"{k.strip().split(' ')[0]} {v['s']:.1f} s/{v['peak_rss_after_mib']:.0f} MiB"
                               for k, v in run["phases"].items())  # fmt: skip
            print(f"  {name:10s} phases (s / peak RSS after): {phases}", flush=True)
            print(f"  {name:10s} task {run['task_s']:7.2f} s, process {run['process_s']:7.2f} s, "
                  f"peak RSS {run['peak_rss_mib']:6.0f} MiB, CPU {run['cpu_s']:6.2f} s", flush=True)  # fmt: skip
            return run

        compile_runs = [one(f"compile-{r + 1}", pdf=False, send=False) for r in range(args.repeat)]
        results["compile"] = summarise(compile_runs)
        full_runs = []
        for r in range(args.full_repeat):
            try:
                full_runs.append(one(f"full-{r + 1}", pdf=True, send=True))
            except RuntimeError as exc:  # LibreOffice's PDF over PDF_TIMEOUT: a finding, not the end of the run
                results.setdefault("full_failed", []).append(str(exc).strip().splitlines()[-1])
                print(f"  full-{r + 1}     FAILED: {results['full_failed'][-1]}", flush=True)
        if full_runs:
            results["full"] = summarise(full_runs)
        if not args.skip_profile:
            prof = work / "compile.prof"
            run = one("profile", pdf=False, send=False, profile=prof)
            stats = pstats.Stats(str(prof))
            results["profile_run_s"] = round(run["task_s"], 2)
            results["profile_breakdown"] = dispatch.breakdown(stats, BREAKDOWN)
            for sort in ("cumulative", "tottime"):
                results[f"profile_top_{sort}"] = dispatch.top_text(stats, sort, args.top).splitlines()

        if not args.skip_district:
            print(
                "# district (built-in 36 units): followup demo, then followup report ... --period 2023-H1", flush=True
            )
            results["district"] = district(work, args.repeat, not args.skip_profile)

        # ---------------------------------------------------------------- report
        print()
        for mode in ("compile", "full"):
            if mode not in results:
                continue
            s = results[mode]
            what = "no PDF, no send" if mode == "compile" else "PDF (LibreOffice) + --send to the Maildir outbox"
            print(f"{mode} ({what}): task median {s['task_median_s']:.2f} s of {s['task_s']}, process "
                  f"{s['process_median_s']:.2f} s, peak RSS {s['peak_rss_median_mib']} MiB of {s['peak_rss_mib']} "
                  f"(goal <= {GOAL_S:.0f} s, <= {GOAL_RSS_MIB:.0f} MiB)")  # fmt: skip
            for p, v in s["phases"].items():
                print(f"    {p:46s} {v['median_s']:8.2f} s   peak RSS after {v['peak_rss_after_mib']:5d} MiB")
        if "profile_breakdown" in results:
            print(f"\n# breakdown of the profiled compile run ({results['profile_run_s']:.1f} s under cProfile)")
            for row in results["profile_breakdown"]:
                print(f"{row['what']:46s} {row['calls']:>7d} calls {row['cum_s']:8.2f} s {row['share'] * 100:5.1f} %")
            print(f"\n# top {args.top} by own time")
            print("\n".join(results["profile_top_tottime"]))
        if "district" in results:
            d = results["district"]
            print(
                f"\ndistrict: followup report median {d['report_median_s']:.2f} s of {d['report_s']} "
                f"(goal <= {DISTRICT_GOAL_S:.0f} s; followup --help {d['help_median_s']:.2f} s; "
                f"PDF {'made' if d['pdf'] else 'not made'})"
            )
            print(f"district, followup serve standing (a Prefect flow): median {d['served_median_s']:.2f} s of "
                  f"{d['served_s']}, {d['served_median_s'] / d['report_median_s']:.2f}x the direct run")  # fmt: skip
            for row in d.get("breakdown", []):
                print(f"    {row['what']:52s} {row['cum_s']:7.2f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    return dispatch.finish(results, started, args.json)


if __name__ == "__main__":
    sys.exit(main())
