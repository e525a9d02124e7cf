"""Benchmark: collecting replies (fetch, interpret, answer) and the status report, against a parse-only floor.

    .venv/bin/python bench/collect.py [--replies 1000] [--imap 300] [--repeat 3] [--units 10000] [--scaling 1000,3000]

1. SETUP (cached under bench/out/collect-cache/, keyed by the number of units and a hash of the generated
   configuration): a synthetic configuration of N units (bench/dispatch.py's ``make_config``: half communes, half
   departments), one dispatch into the Maildir outbox at 2023-02-06 08:00, and one reply per unit built with
   ``followup.simulation`` (on time; 5 % break one form). The DB snapshot of that dispatch is kept, the outbox not.
2. PRODUCT, Maildir: a fresh FOLLOWUP_HOME from the snapshot, the first --replies replies hard-linked into its
   Maildir inbox, then ``fetch_new.fn`` + ``interpret.fn`` + ``answer.fn`` (answers to the Maildir outbox) at
   2023-02-27 08:00.
3. BASELINE: the same reply files, parsed only: email.message_from_bytes, openpyxl read_only over every sheet,
   lxml over word/document.xml's table cells. Product and baseline alternate (P B, B P, ...); medians.
4. IMAP: the first --imap replies APPENDed to a fresh pymap server (a subprocess), the same three tasks with
   FOLLOWUP_IMAP_URL set, against the same baseline over those replies.
5. STATUS: ``followup status DIRECTIVE`` as a whole process on the collected home (N units), and
   ``directive_status`` in process.
6. PROFILE: cProfile of one Maildir product collect (untimed; also the warm-up), and of the status command.

The product costs a constant time per reply, so the default sizes keep the run near 10 minutes; pass
``--replies 10000 --imap 1000`` for the full size (about an hour) or ``--scaling`` to check linearity.
Figures go to stdout and bench/out/collect.json.
"""

from __future__ import annotations

import argparse
import cProfile
import email
import email.header
import hashlib
import importlib.util
import io
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
CACHE = OUT / "collect-cache"
PYTHON = Path(sys.executable)
sys.path.insert(0, str(ROOT))  # flows/ lives at the repo root
sys.path.insert(0, str(ROOT / "tests" / "integration"))  # imap_server.py

DIRECTIVE = "2023-child-protection"
DISPATCH_NOW = "2023-02-06T08:00+07:00"
COLLECT_NOW = "2023-02-27T08:00+07:00"
ERROR_EVERY = 40  # unit i breaks a form when i % 40 is 9 (a department's report) or 30 (a commune's list): 5 %
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def bench_dispatch():  # type: ignore[no-untyped-def]
    """bench/dispatch.py (owned elsewhere) as a module, for its synthetic configuration."""
    spec = importlib.util.spec_from_file_location("bench_dispatch", BENCH / "dispatch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_dispatch", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def set_env(**values: str | None) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


# --------------------------------------------------------------------------- setup (cached)


@dataclass
class Prepared:
    folder: Path
    config: Path
    snapshot: Path  # FOLLOWUP_HOME right after the dispatch, without mail/
    replies: list[Path]
    meta: dict


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def behaviour_plan(units: list[str]):  # type: ignore[no-untyped-def]
    """Unit code -> Behaviour: on time, but one form in 20 units broken in a realistic way."""
    from followup.simulation import LIST_ERRORS, REPORT_ERRORS, Behaviour

    plan = {}
    list_kinds, report_kinds = list(LIST_ERRORS), list(REPORT_ERRORS)
    for i, code in enumerate(units):
        if i % ERROR_EVERY == 9:  # odd index: a department, reports only
            plan[code] = Behaviour("errors", error=report_kinds[i // ERROR_EVERY % len(report_kinds)])
        elif i % ERROR_EVERY == 30:  # even index: a commune, list + reports
            plan[code] = Behaviour("errors", error=list_kinds[i // ERROR_EVERY % len(list_kinds)])
    return plan


def maildir_files(folder: Path) -> list[Path]:
    files = [p for sub in ("new", "cur") for p in (folder / sub).iterdir() if not p.name.startswith(".")]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def prepare(units: int, fresh: bool) -> Prepared:
    """Config + dispatch + replies for ``units`` units, built once and then read from the cache."""
    with tempfile.TemporaryDirectory() as tmp:
        config_tmp = bench_dispatch().make_config(Path(tmp) / "config", units)
        key = tree_digest(config_tmp)[:12]
        folder = CACHE / f"units{units}-{key}"
        if fresh:
            shutil.rmtree(folder, ignore_errors=True)
        if not (folder / "meta.json").exists():
            build(folder, config_tmp, units, key)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    replies = [folder / "replies" / name for name in meta["reply_files"]]
    return Prepared(folder, folder / "config", folder / "snapshot", replies, meta)


def build(folder: Path, config_tmp: Path, units: int, key: str) -> None:
    from flows.dispatch import send_queued
    from followup.domain.config import load_config
    from followup.settings import Settings
    from followup.simulation import play_units

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    config = partial / "config"
    shutil.copytree(config_tmp, config)
    home = partial / "home"
    set_env(
        FOLLOWUP_CONFIG=str(config), FOLLOWUP_HOME=str(home), FOLLOWUP_NOW=DISPATCH_NOW,
        FOLLOWUP_SMTP_URL=None, FOLLOWUP_IMAP_URL=None, FOLLOWUP_DATABASE_URL=None,
    )  # fmt: skip
    print(f"setup: dispatching to {units} units into a Maildir outbox (once; cached in {folder})", flush=True)
    t0 = time.perf_counter()
    report = send_queued.fn(Settings(), DIRECTIVE, None, False, None)
    dispatch_s = time.perf_counter() - t0
    if report.counts()["sent"] != units:
        raise RuntimeError(f"setup dispatch: {report.counts()}")
    print(f"setup: dispatched in {dispatch_s:.0f} s; building the replies", flush=True)

    codes = [u.code for u in load_config(config).recipients.units]
    plan = behaviour_plan(codes)
    outbox = maildir_files(home / "mail" / "outbox")
    (partial / "replies").mkdir()
    names: list[str] = []
    size = 0
    t0 = time.perf_counter()
    chunk = 250  # one message per unit, so chunks answer exactly as one call would; bounded memory
    for start in range(0, len(outbox), chunk):
        raws = [p.read_bytes() for p in outbox[start : start + chunk]]
        for raw in play_units(raws, plan, default="on-time", seed="bench"):
            name = f"{len(names):06d}.eml"
            (partial / "replies" / name).write_bytes(raw)
            names.append(name)
            size += len(raw)
        if (start // chunk) % 8 == 7:
            print(f"  {len(names)} replies, {time.perf_counter() - t0:.0f} s", flush=True)
    play_s = time.perf_counter() - t0
    outbox_bytes = sum(p.stat().st_size for p in outbox)
    shutil.rmtree(home / "mail")  # ~160 KiB per unit; collect does not read it
    shutil.move(home, partial / "snapshot")
    meta = {
        "units": units,
        "config_key": key,
        "dispatch_s": round(dispatch_s, 1),
        "dispatched_messages": len(outbox),
        "dispatched_bytes_mean": round(outbox_bytes / max(1, len(outbox))),
        "play_units_s": round(play_s, 1),
        "replies": len(names),
        "reply_bytes_mean": round(size / max(1, len(names))),
        "broken_replies": len(plan),
        "broken_kinds": dict(Counter(b.error for b in plan.values())),
        "reply_files": names,
    }
    (partial / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    print(f"setup: {len(names)} replies in {play_s:.0f} s, mean {size / max(1, len(names)) / 1024:.0f} KiB", flush=True)


def warm_config_cache(prepared: Prepared) -> None:
    """What a dispatch with the current code leaves in FOLLOWUP_HOME/cache: the validated configuration.

    The JSON is named by the hash of the files and of followup/domain/config.py, so this is a no-op when the
    snapshot already has it and a rebuild (once, untimed) after a change of the code.
    """
    from followup.settings import Settings

    set_env(FOLLOWUP_HOME=str(prepared.snapshot), FOLLOWUP_CONFIG=str(prepared.config))
    settings = Settings()
    if hasattr(settings, "load"):
        settings.load()


def fresh_home(prepared: Prepared, work: Path, name: str, replies: list[Path] | None) -> Path:
    """The dispatched state (DB + documents) in a new folder; ``replies`` hard-linked into its Maildir inbox.

    Each file's time is set to the reply's Date: the product counts a reply from its delivery time (the file
    time), so the replies are delivered when the units sent them, on time as the cache means them (not "late",
    which a link made today would be). A hard link shares its time with the cached file: setting it again
    is harmless."""
    from followup.simulation import date_of

    home = work / name
    shutil.copytree(prepared.snapshot, home)
    if replies:
        inbox = home / "mail" / "inbox"
        for sub in ("new", "cur", "tmp"):
            (inbox / sub).mkdir(parents=True)
        for i, path in enumerate(replies):
            target = inbox / "new" / f"1675900000.M{i}P{os.getpid()}Q{i}.bench"
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
            with open(path, "rb") as f:
                sent = date_of(f.read(64 * 1024))  # the headers are in the first few KiB
            if sent is not None:
                os.utime(target, (sent.timestamp(), sent.timestamp()))
    return home


# --------------------------------------------------------------------------- product and baseline


def product_run(home: Path, expected: int, imap_url: str | None = None) -> dict:
    """fetch_new + interpret + answer on ``home``; checks every reply was stored, read and answered."""
    from flows.collect import answer, fetch_new, interpret
    from followup.settings import Settings

    set_env(FOLLOWUP_HOME=str(home), FOLLOWUP_NOW=COLLECT_NOW, FOLLOWUP_IMAP_URL=imap_url, FOLLOWUP_SMTP_URL=None)
    settings = Settings()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    stored = fetch_new.fn(settings)
    t1 = time.perf_counter()
    processed = interpret.fn(settings)
    t2 = time.perf_counter()
    outcomes = answer.fn(settings)
    t3 = time.perf_counter()
    cpu = time.process_time() - cpu0
    sent = sum(1 for o in outcomes if o.status == "sent")
    if (stored.stored, processed.messages, processed.failed, processed.answers, sent) != (
        expected, expected, 0, expected, expected,
    ):  # fmt: skip
        raise RuntimeError(f"product run on {home}: {stored}, {processed}, {sent} answers sent of {expected}")
    return {
        "s": t3 - t0,
        "fetch_s": t1 - t0,
        "interpret_s": t2 - t1,
        "answer_s": t3 - t2,
        "cpu_s": cpu,
        "submissions": dict(sorted(processed.submissions.items())),
    }


def attachment_kind(part: email.message.Message) -> str | None:
    name = part.get_filename() or ""
    if "=?" in name:
        name = str(email.header.make_header(email.header.decode_header(name)))
    name = name.lower()
    if part.get_content_type() == XLSX_TYPE or name.endswith(".xlsx"):
        return "xlsx"
    if part.get_content_type() == DOCX_TYPE or name.endswith(".docx"):
        return "docx"
    return None


def baseline_run(paths: list[Path]) -> dict:
    """The floor: read each reply, parse it, and read every cell of each attachment; nothing else."""
    from lxml import etree
    from openpyxl import load_workbook

    cells = files = 0
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for path in paths:
        msg = email.message_from_bytes(path.read_bytes())
        for part in msg.walk():
            if part.is_multipart() or (kind := attachment_kind(part)) is None:
                continue
            data = part.get_payload(decode=True)
            files += 1
            if kind == "xlsx":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
                for ws in wb.worksheets:
                    for row in ws.iter_rows(values_only=True):
                        cells += sum(1 for v in row if v is not None)
                wb.close()
            else:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    root = etree.fromstring(zf.read("word/document.xml"))
                for tc in root.iter(f"{W_NS}tc"):
                    cells += bool("".join(t.text or "" for t in tc.iter(f"{W_NS}t")))
    return {"s": time.perf_counter() - t0, "cpu_s": time.process_time() - cpu0, "files": files, "cells": cells}


def alternate(repeat: int, run_product, run_baseline, label: str) -> tuple[list[dict], list[dict]]:  # type: ignore[no-untyped-def]
    product, baseline = [], []
    for r in range(repeat):
        order = ("product", "baseline") if r % 2 == 0 else ("baseline", "product")
        for which in order:
            if which == "product":
                product.append(run_product(r))
                got = product[-1]
            else:
                baseline.append(run_baseline())
                got = baseline[-1]
            extra = ""
            if which == "product":
                extra = (
                    f" (fetch {got['fetch_s']:.1f}, interpret {got['interpret_s']:.1f}, answer {got['answer_s']:.1f})"
                )
            print(
                f"  {label} run {r + 1} {which:8s} {got['s']:8.2f} s wall {got['cpu_s']:8.2f} s CPU{extra}", flush=True
            )
    return product, baseline


# --------------------------------------------------------------------------- IMAP


def child_pid(name: str) -> int | None:
    """The pid of our own child process whose command line mentions ``name`` (the pymap server)."""
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == me and name.encode() in (
                entry / "cmdline"
            ).read_bytes():
                return int(entry.name)
        except (OSError, IndexError):
            continue
    return None


def cpu_of(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def imap_product_run(prepared: Prepared, work: Path, r: int, replies: list[Path], backend: str) -> dict:
    from followup.mail.inbox import KEYWORD

    from imap_server import running_imap_server

    keywords = [KEYWORD] if backend == "maildir" else []
    with running_imap_server(backend=backend, keywords=keywords) as server:  # type: ignore[arg-type]
        t0 = time.perf_counter()
        server.deliver_many(p.read_bytes() for p in replies)  # INTERNALDATE = each reply's Date
        append_s = time.perf_counter() - t0
        raw_fetch_s = raw_fetch(server)  # BODY.PEEK, changes nothing; a reference, not in any ratio's baseline
        home = fresh_home(prepared, work, f"imap-home-{r}", None)
        pid = child_pid("pymap")
        server_cpu0 = cpu_of(pid)
        result = product_run(home, len(replies), imap_url=server.url)
        result["server_cpu_s"] = cpu_of(pid) - server_cpu0
        result["append_s"] = append_s
        result["raw_fetch_s"] = raw_fetch_s
    shutil.rmtree(home, ignore_errors=True)
    return result


def raw_fetch(server) -> float:  # type: ignore[no-untyped-def]
    """What the bytes alone cost over IMAP: one UID SEARCH, then UID FETCH (INTERNALDATE BODY.PEEK[]) in batches
    of 100, what the product fetches."""
    t0 = time.perf_counter()
    with server.connect() as conn:
        conn.select('"INBOX"', readonly=True)
        uids = conn.uid("SEARCH", "ALL")[1][0].split()
        for start in range(0, len(uids), 100):
            conn.uid("FETCH", b",".join(uids[start : start + 100]).decode(), "(INTERNALDATE BODY.PEEK[])")
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- status


def status_process(home: Path, config: Path, args: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FOLLOWUP_"))}
    env.update(FOLLOWUP_HOME=str(home), FOLLOWUP_CONFIG=str(config), FOLLOWUP_NOW=COLLECT_NOW)
    t0 = time.perf_counter()
    done = subprocess.run([str(PYTHON.parent / "followup"), *args], env=env, cwd=home, capture_output=True, timeout=600)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"followup {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]!r}")
    return elapsed


def status_profile(home: Path, config: Path, out: Path) -> pstats.Stats:
    """The status command under cProfile, in its own process like the timed runs (imports excluded)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FOLLOWUP_"))}
    env.update(FOLLOWUP_HOME=str(home), FOLLOWUP_CONFIG=str(config), FOLLOWUP_NOW=COLLECT_NOW)
    code = (
        "import cProfile, sys\n"
        "from followup.cli import app\n"
        f"sys.argv = ['followup', 'status', {DIRECTIVE!r}]\n"
        f"cProfile.run('app(standalone_mode=False)', {str(out)!r})\n"
    )
    subprocess.run([str(PYTHON), "-c", code], env=env, cwd=home, capture_output=True, timeout=600, check=True)
    return pstats.Stats(str(out))


def status_in_process(home: Path, config_dir: Path) -> dict:
    from followup.domain import clock
    from followup.domain.config import load_config
    from followup.services.status import directive_status
    from followup.settings import Settings
    from followup.storage.db import open_database
    from followup.storage.files import FileStore
    from followup.storage.uow import UnitOfWork

    set_env(FOLLOWUP_HOME=str(home), FOLLOWUP_NOW=COLLECT_NOW)
    settings = Settings()
    t0 = time.perf_counter()
    config = load_config(config_dir)  # uncached: what a changed configuration costs
    t1 = time.perf_counter()
    if hasattr(settings, "load"):  # the cached path the command takes (config as JSON in FOLLOWUP_HOME/cache)
        settings.load()
        t1b = time.perf_counter()
        config = settings.load()
        cached_s = time.perf_counter() - t1b
    else:
        cached_s = float("nan")
    t1c = time.perf_counter()
    Session = open_database(settings.db_url)
    t2 = time.perf_counter()
    with UnitOfWork(Session, FileStore(settings.home / "store"), clock.Clock.from_env(config.tz)) as uow:
        slots = directive_status(uow, config, config.directive(DIRECTIVE), uow.now())
    t3 = time.perf_counter()
    return {
        "load_config_s": t1 - t0,
        "settings_load_cached_s": cached_s,
        "open_database_s": t2 - t1c,
        "directive_status_s": t3 - t2,
        "slots": [f"{s.requirement} {s.period}: {s.counts()}" for s in slots],
    }


# --------------------------------------------------------------------------- profile

BREAKDOWN = [  # (label, file suffix, function); the indented rows are parts of the row above
    ("load_config (all calls: fetch, interpret, answer)", "followup/domain/config.py", "load_config"),
    ("Recipients.units_in (all calls)", "followup/domain/config.py", "units_in"),
    ("parse_message (all calls)", "followup/mail/parse.py", "parse_message"),
    ("FileStore._put (write + sync, all calls)", "followup/storage/files.py", "_put"),
    ("fetch_new", "flows/collect.py", "fetch_new"),
    ("  store_message", "followup/services/store.py", "store_message"),
    ("  MaildirInbox.mark_processed", "followup/mail/inbox.py", "mark_processed"),
    ("    MaildirInbox._find (scans new/ + cur/)", "followup/mail/inbox.py", "_find"),
    ("interpret", "flows/collect.py", "interpret"),
    ("  Interpreter.process", "followup/services/interpret.py", "process"),
    ("    read_identity", "followup/forms/identity.py", "read_identity"),
    ("    Interpreter.decide", "followup/services/interpret.py", "decide"),
    ("      review: children list (KIND.review)", "followup/forms/children_list.py", "review"),
    ("        read_children_list", "followup/forms/children_list.py", "read_children_list"),
    ("          xlsx_tables", "followup/forms/cells.py", "xlsx_tables"),
    ("      review: periodic report (KIND.review)", "followup/forms/periodic_report.py", "review"),
    ("        read_periodic_report", "followup/forms/periodic_report.py", "read_periodic_report"),
    ("          word_blocks", "followup/forms/cells.py", "word_blocks"),
    ("      listed_special", "followup/services/interpret.py", "listed_special"),
    ("  queue_answer", "followup/services/answers.py", "queue_answer"),
    ("answer", "flows/collect.py", "answer"),
    ("  build_answer", "followup/services/answers.py", "build_answer"),
    ("    Recipients.unit (lookup, all calls)", "followup/domain/config.py", "unit"),
    ("    render (Jinja)", "followup/mail/templates.py", "render"),
    ("  compose", "followup/mail/compose.py", "compose"),
    ("  MaildirSender.send", "followup/mail/sender.py", "send"),
    ("Session.commit (all)", "sqlalchemy/orm/session.py", "commit"),
    ("Session.flush (all)", "sqlalchemy/orm/session.py", "flush"),
    ("Connection.execute (all SQL)", "sqlalchemy/engine/base.py", "_execute_context"),
]


def top_text(stats: pstats.Stats, sort: str, n: int, only: str | None = None) -> str:
    """The top ``n`` rows; ``only`` (a regular expression on the file:line(function) text) filters first."""
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats(sort)
    if only:
        stats.print_stats(only, n)
    else:
        stats.print_stats(n)
    text = out.getvalue()
    start = text.find("   ncalls")
    return text[start:].rstrip() if start >= 0 else text


# --------------------------------------------------------------------------- main


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary(runs: list[dict], key: str = "s") -> float:
    return median([r[key] for r in runs])


def rounded(runs: list[dict]) -> list[dict]:
    return [{k: round(v, 3) if isinstance(v, float) else v for k, v in run.items()} for run in runs]


def main() -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=1_000, help="replies collected in the Maildir runs")
    parser.add_argument("--imap", type=int, default=300, help="replies collected over IMAP (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--units", type=int, default=None, help="units in the configuration (default 10000)")
    parser.add_argument("--imap-backend", choices=("maildir", "dict"), default="maildir",
                        help="pymap backend: maildir has keywords (STORE), dict moves to a folder (MOVE)")  # fmt: skip
    parser.add_argument("--skip-profile", action="store_true")
    parser.add_argument("--skip-status", action="store_true")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached dispatch and replies")
    parser.add_argument(
        "--scaling",
        default="",
        help="comma-separated reply counts: one product + one baseline run each (e.g. 1000,3000)",
    )
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--json", type=Path, default=OUT / "collect.json", help="where to write the figures")
    args = parser.parse_args()
    units = args.units or max(10_000, args.replies, args.imap)
    if args.replies > units or args.imap > units:
        parser.error("--replies and --imap cannot exceed --units")

    started = time.perf_counter()
    for key in [k for k in os.environ if k.startswith("FOLLOWUP_")]:
        del os.environ[key]
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="collect-work-", dir=OUT))  # same filesystem as the cache: hard links
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))  # never touch ~/.prefect
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    results: dict = {
        "units": units,
        "replies": args.replies,
        "imap_replies": args.imap,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "git_head": git("rev-parse", "HEAD"),
        "product_changes_not_committed": git("status", "--porcelain", "--", "followup", "flows").splitlines(),
    }
    try:
        t0 = time.perf_counter()
        import flows.collect  # noqa: F401  (prefect import: not part of any figure)
        import flows.dispatch  # noqa: F401

        results["import_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        prepared = prepare(units, args.fresh)
        results["setup_s"] = round(time.perf_counter() - t0, 1)
        results["setup"] = {k: v for k, v in prepared.meta.items() if k != "reply_files"}
        warm_config_cache(prepared)
        replies = prepared.replies[: args.replies]
        n = len(replies)
        print(
            f"# {units} units, {n} replies (mean {prepared.meta['reply_bytes_mean'] / 1024:.0f} KiB, "
            f"{prepared.meta['broken_replies']} of all {prepared.meta['replies']} with a broken form), "
            f"repeat {args.repeat}; setup {results['setup_s']:.1f} s (cache {prepared.folder.name})",
            flush=True,
        )

        # ---------------------------------------------------------------- profile (also the warm-up)
        stats = None
        if not args.skip_profile:
            home = fresh_home(prepared, work, "home-profile", replies)
            profiler = cProfile.Profile()
            t0 = time.perf_counter()
            profiler.enable()
            try:
                profiled = product_run(home, n)
            finally:
                profiler.disable()
            results["profile_run_s"] = round(time.perf_counter() - t0, 2)
            results["submissions"] = profiled["submissions"]
            stats = pstats.Stats(profiler)
            print(f"profiled product run (untimed): {results['profile_run_s']:.1f} s", flush=True)
            shutil.rmtree(home, ignore_errors=True)

        # ---------------------------------------------------------------- Maildir: product vs baseline
        homes: list[Path] = []

        def run_maildir(r: int) -> dict:
            if homes:
                shutil.rmtree(homes.pop(), ignore_errors=True)  # keep only the latest, for status
            home = fresh_home(prepared, work, f"home-{r}", replies)
            homes.append(home)
            return product_run(home, n)

        product, baseline = alternate(args.repeat, run_maildir, lambda: baseline_run(replies), "maildir")
        results["submissions"] = product[-1]["submissions"]
        p, b = summary(product), summary(baseline)
        results["maildir"] = {
            "product_runs": rounded(product),
            "baseline_runs": rounded(baseline),
            "product_median_s": round(p, 3),
            "baseline_median_s": round(b, 3),
            "product_msgs_per_s": round(n / p, 1),
            "baseline_msgs_per_s": round(n / b, 1),
            "product_ms_per_msg": round(1000 * p / n, 2),
            "baseline_ms_per_msg": round(1000 * b / n, 2),
            "fetch_median_s": round(summary(product, "fetch_s"), 3),
            "interpret_median_s": round(summary(product, "interpret_s"), 3),
            "answer_median_s": round(summary(product, "answer_s"), 3),
            "ratio": round(p / b, 2),
            "product_cpu_median_s": round(summary(product, "cpu_s"), 2),
            "baseline_cpu_median_s": round(summary(baseline, "cpu_s"), 2),
            "cpu_ratio": round(summary(product, "cpu_s") / summary(baseline, "cpu_s"), 2),
            "ratio_goal": 2,
        }

        # ---------------------------------------------------------------- status on the collected home
        if not args.skip_status:
            home = homes[-1]
            command = ["status", DIRECTIVE]
            status_process(home, prepared.config, ["--help"])  # warm the page cache for the imports
            table, as_json, help_s, inproc = [], [], [], []
            for r in range(args.repeat):
                table.append(status_process(home, prepared.config, command))
                as_json.append(status_process(home, prepared.config, [*command, "--json"]))
                help_s.append(status_process(home, prepared.config, ["--help"]))
                inproc.append(status_in_process(home, prepared.config))
                print(
                    f"  status run {r + 1}: command {table[-1]:.2f} s, --json {as_json[-1]:.2f} s, "
                    f"--help {help_s[-1]:.2f} s, directive_status {inproc[-1]['directive_status_s']:.3f} s "
                    f"(load_config {inproc[-1]['load_config_s']:.2f} s, "
                    f"cached {inproc[-1]['settings_load_cached_s']:.3f} s)",
                    flush=True,
                )
            status_stats = None
            if not args.skip_profile:
                status_stats = status_profile(home, prepared.config, work / "status.prof")
            results["status"] = {
                "units": units,
                "command": f"followup {' '.join(command)}",
                "command_s": [round(x, 3) for x in table],
                "command_median_s": round(median(table), 3),
                "json_median_s": round(median(as_json), 3),
                "help_median_s": round(median(help_s), 3),
                "directive_status_median_s": round(summary(inproc, "directive_status_s"), 4),
                "load_config_median_s": round(summary(inproc, "load_config_s"), 3),
                "settings_load_cached_median_s": round(summary(inproc, "settings_load_cached_s"), 3),
                "open_database_median_s": round(summary(inproc, "open_database_s"), 3),
                "slots": inproc[-1]["slots"],
                "goal_s": 1,
            }
            if status_stats is not None:
                skip_wrappers = r"^(?!.*(typer/|click/|builtins.exec))"  # typer's call chain is the whole run
                text = top_text(status_stats, "cumulative", args.top, only=skip_wrappers)
                results["status"]["profile_top_cumulative"] = text.splitlines()
        for home in homes:
            shutil.rmtree(home, ignore_errors=True)

        # ---------------------------------------------------------------- IMAP
        if args.imap:
            subset = prepared.replies[: args.imap]
            iproduct, ibaseline = alternate(
                args.repeat,
                lambda r: imap_product_run(prepared, work, r, subset, args.imap_backend),
                lambda: baseline_run(subset),
                "imap",
            )
            ip, ib = summary(iproduct), summary(ibaseline)
            fetch_raw = summary(iproduct, "raw_fetch_s")
            results["imap"] = {
                "backend": args.imap_backend,
                "replies": len(subset),
                "product_runs": rounded(iproduct),
                "baseline_runs": rounded(ibaseline),
                "product_median_s": round(ip, 3),
                "baseline_median_s": round(ib, 3),
                "product_msgs_per_s": round(len(subset) / ip, 1),
                "baseline_msgs_per_s": round(len(subset) / ib, 1),
                "fetch_median_s": round(summary(iproduct, "fetch_s"), 3),
                "interpret_median_s": round(summary(iproduct, "interpret_s"), 3),
                "answer_median_s": round(summary(iproduct, "answer_s"), 3),
                "server_cpu_median_s": round(summary(iproduct, "server_cpu_s"), 2),
                "raw_imap_fetch_median_s": round(fetch_raw, 3),
                "append_median_s": round(summary(iproduct, "append_s"), 2),
                "ratio": round(ip / ib, 2),
                "product_cpu_median_s": round(summary(iproduct, "cpu_s"), 2),
                "baseline_cpu_median_s": round(summary(ibaseline, "cpu_s"), 2),
                "cpu_ratio": round(summary(iproduct, "cpu_s") / summary(ibaseline, "cpu_s"), 2),
                "ratio_vs_baseline_plus_raw_fetch": round(ip / (ib + fetch_raw), 2),
                "ratio_goal": 2,
            }

        # ---------------------------------------------------------------- scaling: one run per size
        sizes = [int(x) for x in args.scaling.split(",") if x.strip()]
        if any(size > units for size in sizes):
            raise SystemExit(f"--scaling sizes cannot exceed --units {units}")
        scaling = []
        for size in sizes:
            home = fresh_home(prepared, work, f"home-scale-{size}", prepared.replies[:size])
            got = product_run(home, size)
            shutil.rmtree(home, ignore_errors=True)
            base = baseline_run(prepared.replies[:size])
            row = {
                "replies": size,
                "product_s": round(got["s"], 2),
                "product_cpu_s": round(got["cpu_s"], 2),
                "fetch_s": round(got["fetch_s"], 2),
                "interpret_s": round(got["interpret_s"], 2),
                "answer_s": round(got["answer_s"], 2),
                "baseline_s": round(base["s"], 2),
                "product_ms_per_msg": round(1000 * got["s"] / size, 1),
                "baseline_ms_per_msg": round(1000 * base["s"] / size, 1),
                "ratio": round(got["s"] / base["s"], 2),
            }
            scaling.append(row)
            print(f"  scaling {size:6d} replies: product {row['product_s']:.1f} s ({row['product_ms_per_msg']} ms/msg; "
                  f"fetch {row['fetch_s']}, interpret {row['interpret_s']}, answer {row['answer_s']}), baseline "
                  f"{row['baseline_s']:.1f} s, ratio {row['ratio']}", flush=True)  # fmt: skip
        if scaling:
            results["scaling"] = scaling

        # ---------------------------------------------------------------- report
        m = results["maildir"]
        print()
        print(f"{'measurement':52s} {'median s':>9s} {'msg/s':>8s} {'ms/msg':>7s}")
        print(f"{f'product Maildir collect, {n} replies':52s} {p:9.2f} {n / p:8.1f} {1000 * p / n:7.2f}")
        print(f"{'  fetch_new / interpret / answer':52s} {m['fetch_median_s']:9.2f} / {m['interpret_median_s']:.2f} "
              f"/ {m['answer_median_s']:.2f}")  # fmt: skip
        print(f"{'baseline parse only, same replies':52s} {b:9.2f} {n / b:8.1f} {1000 * b / n:7.2f}")
        print(f"{'ratio product/baseline (goal <= 2)':52s} {p / b:9.2f}")
        print(f"{'  CPU s product / baseline, CPU ratio':52s} {m['product_cpu_median_s']:9.2f} / "
              f"{m['baseline_cpu_median_s']:.2f}, {m['cpu_ratio']:.2f}")  # fmt: skip
        if args.imap:
            i = results["imap"]
            k = i["replies"]
            print(f"{f'product IMAP collect ({args.imap_backend}), {k} replies':52s} {ip:9.2f} {k / ip:8.1f} "
                  f"{1000 * ip / k:7.2f}")  # fmt: skip
            print(f"{'  fetch_new / interpret / answer':52s} {i['fetch_median_s']:9.2f} / "
                  f"{i['interpret_median_s']:.2f} / {i['answer_median_s']:.2f}")  # fmt: skip
            print(f"{'  pymap server CPU during the product run':52s} {i['server_cpu_median_s']:9.2f}")
            print(f"{f'baseline parse only, same {k} replies':52s} {ib:9.2f} {k / ib:8.1f} {1000 * ib / k:7.2f}")
            print(f"{'  raw IMAP UID FETCH of the same (not in baseline)':52s} {fetch_raw:9.2f}")
            print(f"{'ratio product/baseline (goal <= 2)':52s} {ip / ib:9.2f}")
            print(f"{'ratio product/(baseline + raw fetch)':52s} {i['ratio_vs_baseline_plus_raw_fetch']:9.2f}")
            print(f"{'  CPU s product / baseline, CPU ratio':52s} {i['product_cpu_median_s']:9.2f} / "
                  f"{i['baseline_cpu_median_s']:.2f}, {i['cpu_ratio']:.2f}")  # fmt: skip
        if not args.skip_status:
            s = results["status"]
            print(f"{f'followup status {DIRECTIVE}, {units} units (goal <= 1)':52s} {s['command_median_s']:9.2f}")
            print(f"{'  followup status ... --json':52s} {s['json_median_s']:9.2f}")
            print(f"{'  followup --help (interpreter + imports floor)':52s} {s['help_median_s']:9.2f}")
            print(f"{'  directive_status() in process':52s} {s['directive_status_median_s']:9.3f}")
            print(f"{'  load_config() in process, uncached':52s} {s['load_config_median_s']:9.3f}")
            print(f"{'  Settings.load() in process, cached':52s} {s['settings_load_cached_median_s']:9.3f}")
        print(f"submissions per run: {results['submissions']}")
        if stats is not None:
            rows = bench_dispatch().breakdown(stats, BREAKDOWN)
            results["profile_breakdown"] = rows
            total = results["profile_run_s"]
            print(f"\n# breakdown of the profiled Maildir collect ({total:.1f} s under cProfile, {n} replies)")
            for row in rows:
                print(f"{row['what']:52s} {row['calls']:>6d} calls {row['cum_s']:8.2f} s {row['share'] * 100:5.1f} %")
            if "profile_top_cumulative" in results.get("status", {}):
                print(
                    f"\n# followup status {DIRECTIVE} under cProfile ({units} units), top {args.top} by cumulative "
                    "time (typer's call chain left out)"
                )
                print("\n".join(results["status"]["profile_top_cumulative"]))
            for sort, label in (("cumulative", "cumulative"), ("tottime", "own")):
                text = top_text(stats, sort, args.top)
                print(f"\n# top {args.top} by {label} time\n{text}")
                results[f"profile_top_{sort}"] = text.splitlines()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    return bench_dispatch().finish(results, started, args.json)


if __name__ == "__main__":
    sys.exit(main())
