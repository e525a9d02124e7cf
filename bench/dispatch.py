"""Benchmark: `followup dispatch` end to end against a loopback SMTP sink.

    .venv/bin/python bench/dispatch.py [--units 10000] [--repeat 3] [--skip-district] [--skip-profile]

1. PRODUCT  – the library path the flow's task runs (``flows.dispatch.send_queued.fn``) for N synthetic
   units on a fresh FOLLOWUP_HOME: load config, migrate DB, number + render the letter, queue N rows,
   compose and send each over one SMTP connection, commit each outcome.
2. BASELINE – the exact messages the product produced, sent with a raw ``smtplib.SMTP`` loop over one
   connection to the same sink (the floor: what the SMTP round trips + sink cost on their own).
3. DISTRICT – the real CLI (``followup dispatch 2023-child-protection``) on the built-in 36-unit
   configuration as a subprocess on a fresh data folder, as the clerk runs it with no Prefect server standing
   (the job runs directly; a standing server adds Prefect's import and records: see bench/report.py).
4. PROFILE  – cProfile of one product run (untimed; it also captures the message bytes for 2).

The sink (bench/smtp_sink.py, aiosmtpd, counts and discards) runs in its own process: the machine has 2
cores and an in-process sink would take the GIL from the client it is measuring.
Figures go to stdout and bench/out/dispatch.json.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = Path(sys.executable)
sys.path.insert(0, str(ROOT))  # flows/ lives at the repo root
NOW = "2023-02-06T08:00+07:00"
DIRECTIVE = "2023-child-protection"

# --------------------------------------------------------------------------- synthetic configuration

PLACES = [
    "Cao Sơn",
    "Cẩm Giàng",
    "Đôn Phong",
    "Dương Phong",
    "Lục Bình",
    "Mỹ Thanh",
    "Nguyên Phúc",
    "Quân Hà",
    "Quang Thuận",
    "Sỹ Bình",
    "Tân Tú",
    "Vi Hương",
    "Vũ Muộn",
    "Phủ Thông",
    "Hà Vị",
    "Tú Trĩ",
    "Ngọc Hồi",
    "Đắk Tô",
    "Hưng Yên",
    "Thủy Nguyên",
    "Điện Biên",
    "Quỳnh Lưu",
    "Ea Kar",
    "Bảo Lộc",
]
DEPARTMENTS = [
    "Phòng Lao động - Thương binh và Xã hội",
    "Phòng Giáo dục và Đào tạo",
    "Phòng Văn hóa và Thông tin",
    "Phòng Y tế",
    "Phòng Tư pháp",
    "Phòng Tài chính - Kế hoạch",
    "Phòng Nội vụ",
    "Phòng Dân tộc",
    "Phòng Kinh tế và Hạ tầng",
    "Phòng Nông nghiệp và PTNT",
    "Phòng Tài nguyên và Môi trường",
    "Trung tâm Văn hóa - Thể thao và Truyền thông",
    "Hội Liên hiệp Phụ nữ",
    "Hội Cựu chiến binh",
]


def synthetic_units(n: int) -> list[str]:
    """One flow mapping per line, the way the built-in recipients.yaml is written."""
    lines = []
    for i in range(n):
        if i % 2 == 0:
            place = PLACES[i // 2 % len(PLACES)]
            code, name, kind, group = f"XA-{i:05d}", f"Ủy ban nhân dân xã {place} số {i}", "commune", "xa-thi-tran"
            email = f"ubnd.x{i:05d}@donvi.example"
        else:
            code, name, kind, group = (
                f"PB-{i:05d}",
                f"{DEPARTMENTS[i // 2 % len(DEPARTMENTS)]} số {i}",
                "department",
                "phong-ban",
            )
            email = f"phong.p{i:05d}@donvi.example"
        lines.append(f"  - {{code: {code}, name: {name}, kind: {kind}, groups: [{group}], emails: [{email}]}}")
    return lines


def make_config(folder: Path, n: int) -> Path:
    """directives/, templates/, schedules.yaml built in; recipients.yaml with n synthetic units."""
    from followup.settings import DEFAULTS

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(DEFAULTS / "directives", folder / "directives")
    shutil.copytree(DEFAULTS / "templates", folder / "templates")
    shutil.copy(DEFAULTS / "schedules.yaml", folder / "schedules.yaml")
    base = yaml.safe_load((DEFAULTS / "recipients.yaml").read_text(encoding="utf-8"))
    rest = {k: v for k, v in base.items() if k != "units"}
    text = yaml.safe_dump(rest, allow_unicode=True, sort_keys=False, default_flow_style=False, width=200)
    text += "\nunits:\n" + "\n".join(synthetic_units(n)) + "\n"
    (folder / "recipients.yaml").write_text(text, encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- the sink (own process)


class SinkProcess:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [str(PYTHON), str(BENCH / "smtp_sink.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "PORT":
            raise RuntimeError("sink did not start")
        self.port = int(line[1])
        self.url = f"smtp://127.0.0.1:{self.port}"

    def count(self) -> tuple[int, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        messages, size = self.proc.stdout.readline().split()
        return int(messages), int(size)

    def cpu_seconds(self) -> float:
        """User + system CPU the sink process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --------------------------------------------------------------------------- product and baseline


def product_run(home: Path) -> tuple[float, dict[str, int]]:
    """One end-to-end run of the flow's task on a fresh FOLLOWUP_HOME; returns (seconds, counts)."""
    from flows.dispatch import send_queued
    from followup.settings import Settings

    os.environ["FOLLOWUP_HOME"] = str(home)
    settings = Settings()
    t0 = time.perf_counter()
    report = send_queued.fn(settings, DIRECTIVE, None, False, None)
    elapsed = time.perf_counter() - t0
    return elapsed, report.counts()


def captured_run(home: Path, profile: bool) -> tuple[list[tuple[str, list[str], bytes]], pstats.Stats | None]:
    """An untimed product run that records every message's envelope and bytes (and optionally profiles).

    The mail path composes ahead in a worker thread (``services.outgoing.deliver``); cProfile sees one thread
    only, so in profile mode each worker thread of that pool gets its own profiler and its figures are added to
    the main thread's (the worker's rows then overlap the main thread's wall time: read them as CPU shares)."""
    from followup.mail import sender as outbox
    from followup.services import outgoing as mail_path

    captured: list[tuple[str, list[str], bytes]] = []
    original = outbox.SmtpSender.send
    original_pool = mail_path.ThreadPoolExecutor
    workers: list[cProfile.Profile] = []

    def recording_send(self, from_addr, recipients, data):  # type: ignore[no-untyped-def]
        captured.append((from_addr, list(recipients), data))
        return original(self, from_addr, recipients, data)

    def profile_worker() -> None:
        worker = cProfile.Profile()
        workers.append(worker)
        worker.enable()  # this thread only; its calls end (and are counted) when the pool shuts down

    class ProfiledPool(original_pool):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, initializer=profile_worker, **kwargs)

    outbox.SmtpSender.send = recording_send  # type: ignore[method-assign]
    profiler = cProfile.Profile() if profile else None
    if profiler:
        mail_path.ThreadPoolExecutor = ProfiledPool  # type: ignore[misc]
    try:
        if profiler:
            profiler.enable()
        product_run(home)
    finally:
        if profiler:
            profiler.disable()
        outbox.SmtpSender.send = original  # type: ignore[method-assign]
        mail_path.ThreadPoolExecutor = original_pool  # type: ignore[misc]
    if profiler is None:
        return captured, None
    stats = pstats.Stats(profiler)
    for worker in workers:
        stats.add(worker)
    return captured, stats


def baseline_run(port: int, messages: list[tuple[str, list[str], bytes]]) -> float:
    """The same bytes, raw smtplib, one connection, sendmail per message."""
    t0 = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=30)
    for from_addr, recipients, data in messages:
        smtp.sendmail(from_addr, recipients, data)
    smtp.quit()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- the real district via the CLI


def district_run(sink_url: str, work: Path) -> float:
    from followup.settings import DEFAULTS

    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FOLLOWUP_"))}
    env.update(
        FOLLOWUP_HOME=str(home),
        FOLLOWUP_CONFIG=str(DEFAULTS),
        FOLLOWUP_SMTP_URL=sink_url,
        FOLLOWUP_NOW=NOW,
    )
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(PYTHON.parent / "followup"), "dispatch", DIRECTIVE],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"followup dispatch exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return elapsed


# --------------------------------------------------------------------------- profile breakdown

BREAKDOWN = [  # (label, file suffix, function)
    ("load_config (YAML + pydantic)", "followup/domain/config.py", "load_config"),
    ("open_database (engine + alembic)", "followup/storage/db.py", "open_database"),
    ("issue (sync units, number, letter)", "followup/services/dispatch.py", "issue"),
    ("  sync_recipients", "followup/storage/repository.py", "sync_recipients"),
    ("queue_messages (rows + commit)", "followup/services/dispatch.py", "queue_messages"),
    ("deliver", "followup/services/outgoing.py", "deliver"),
    ("  claim_message (UPDATE + commit + refresh)", "followup/storage/repository.py", "claim_message"),
    ("  MailKit.outgoing (forms + Jinja)", "followup/services/dispatch.py", "outgoing"),
    ("    FormTemplate.fill (zip append)", "followup/forms/prefill.py", "fill"),
    ("    render (Jinja)", "followup/mail/templates.py", "render"),
    ("  compose (yagmail + as_bytes)", "followup/mail/compose.py", "compose"),
    ("    yagmail prepare_message", "yagmail/message.py", "prepare_message"),
    ("    Message.as_bytes", "email/message.py", "as_bytes"),
    ("  SmtpSender.send (sendmail)", "followup/mail/sender.py", "send"),
    ("  Session.commit", "sqlalchemy/orm/session.py", "commit"),
    ("  digest (sha256)", "followup/mail/compose.py", "digest"),
]


def breakdown(stats: pstats.Stats, entries: list[tuple[str, str, str]] = BREAKDOWN) -> list[dict]:
    """Cumulative time of each (label, file suffix, function) entry; functions of the same name in several
    matching files add up (cProfile's ct of one function already excludes re-entry). Shared with collect.py."""
    raw = stats.stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in raw.values())
    rows = []
    for label, suffix, name in entries:
        calls, cum = 0, 0.0
        for (file, _line, func), (_cc, nc, _tt, ct, _callers) in raw.items():
            if func == name and file.replace("\\", "/").endswith(suffix):
                calls, cum = calls + nc, cum + ct
        rows.append(
            {
                "what": label,
                "function": f"{suffix}:{name}",
                "calls": calls,
                "cum_s": round(cum, 3),
                "share": round(cum / total, 3) if total else 0.0,
            }
        )
    return rows


def top_text(stats: pstats.Stats, sort: str, n: int) -> str:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats(sort).print_stats(n)
    text = out.getvalue()
    start = text.find("   ncalls")
    return text[start:].rstrip() if start >= 0 else text


# --------------------------------------------------------------------------- main


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-district", action="store_true", help="skip the CLI runs")
    parser.add_argument("--skip-profile", action="store_true", help="capture without cProfile")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="followup-bench-"))
    sink = SinkProcess()
    results: dict = {
        "units": args.units,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "sink": "aiosmtpd in a separate process (bench/smtp_sink.py)",
    }
    try:
        # ---------------------------------------------------------------- synthetic district, in process
        config = make_config(work / "config", args.units)
        for key in [k for k in os.environ if k.startswith("FOLLOWUP_")]:
            del os.environ[key]
        os.environ.update(FOLLOWUP_CONFIG=str(config), FOLLOWUP_NOW=NOW, FOLLOWUP_SMTP_URL=sink.url)
        os.environ.setdefault("PREFECT_HOME", str(work / "prefect-inproc"))  # never touch ~/.prefect
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        t0 = time.perf_counter()
        import flows.dispatch  # noqa: F401  (prefect import: not part of any figure)

        results["import_s"] = round(time.perf_counter() - t0, 2)

        print(f"# {args.units} units, repeat {args.repeat}, sink {sink.url} (separate process)", flush=True)
        n0 = sink.count()[0]
        t0 = time.perf_counter()
        messages, stats = captured_run(work / "home-capture", profile=not args.skip_profile)
        capture_s = time.perf_counter() - t0
        if len(messages) != args.units or sink.count()[0] - n0 != args.units:
            raise RuntimeError(f"capture run sent {len(messages)} messages, sink got {sink.count()[0] - n0}")
        sizes = [len(m[2]) for m in messages]
        results["message_bytes_mean"] = round(statistics.mean(sizes))
        results["capture_run_s"] = round(capture_s, 2)
        print(
            f"capture{'+profile' if stats else ''} run: {capture_s:.1f} s, "
            f"{len(messages)} messages, mean {statistics.mean(sizes) / 1024:.0f} KiB",
            flush=True,
        )

        product, baseline = [], []
        cpu: dict[str, list[tuple[float, float]]] = {"product": [], "baseline": []}
        for r in range(args.repeat):
            order = ("product", "baseline") if r % 2 == 0 else ("baseline", "product")
            for which in order:
                n0, sink_cpu0, cpu0 = sink.count()[0], sink.cpu_seconds(), time.process_time()
                if which == "product":
                    seconds, counts = product_run(work / f"home-{r}")
                    if counts["sent"] != args.units:
                        raise RuntimeError(f"product run {r}: {counts}")
                    product.append(seconds)
                else:
                    seconds = baseline_run(sink.port, messages)
                    baseline.append(seconds)
                cpu[which].append((time.process_time() - cpu0, sink.cpu_seconds() - sink_cpu0))
                got = sink.count()[0] - n0
                if got != args.units:
                    raise RuntimeError(f"{which} run {r}: sink received {got} of {args.units}")
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
            product_msgs_per_s=round(args.units / p, 1),
            baseline_msgs_per_s=round(args.units / b, 1),
            ratio=round(p / b, 2),
            ratio_goal=1.3,
            product_client_cpu_median_s=round(median([c for c, _ in cpu["product"]]), 2),
            product_sink_cpu_median_s=round(median([k for _, k in cpu["product"]]), 2),
            baseline_client_cpu_median_s=round(median([c for c, _ in cpu["baseline"]]), 2),
            baseline_sink_cpu_median_s=round(median([k for _, k in cpu["baseline"]]), 2),
        )

        # ---------------------------------------------------------------- real district via the CLI
        if not args.skip_district:
            runs = []
            for r in range(args.repeat):
                runs.append(district_run(sink.url, work))
                print(f"  district run {r + 1}: {runs[-1]:.2f} s", flush=True)
            results.update(
                district_units=36,
                district_s=[round(x, 2) for x in runs],
                district_median_s=round(median(runs), 2),
                district_goal_s=10,
            )

        # ---------------------------------------------------------------- report
        print()
        print(f"{'measurement':44s} {'median s':>9s} {'msg/s':>8s}")
        print(f"{'product  send_queued.fn, ' + str(args.units) + ' units':44s} {p:9.2f} {args.units / p:8.0f}")
        print(f"{'baseline raw smtplib, same bytes':44s} {b:9.2f} {args.units / b:8.0f}")
        print(f"{'ratio product/baseline (goal <= 1.3)':44s} {p / b:9.2f}")
        print(
            f"{'  CPU s (client/sink), product':44s} {results['product_client_cpu_median_s']:9.2f} "
            f"/ {results['product_sink_cpu_median_s']:.2f}"
        )
        print(
            f"{'  CPU s (client/sink), baseline':44s} {results['baseline_client_cpu_median_s']:9.2f} "
            f"/ {results['baseline_sink_cpu_median_s']:.2f}"
        )
        if not args.skip_district:
            print(f"{'district CLI, 36 units':44s} {results['district_median_s']:9.2f}   (goal <= 10 s)")
        if stats is not None:
            rows = breakdown(stats)
            results["profile_total_s"] = round(capture_s, 2)
            results["profile_breakdown"] = rows
            print(f"\n# breakdown of the profiled product run ({capture_s:.1f} s under cProfile)")
            for row in rows:
                print(f"{row['what']:46s} {row['calls']:>7d} calls {row['cum_s']:8.2f} s {row['share'] * 100:5.1f} %")
            print(f"\n# top {args.top} by cumulative time")
            text = top_text(stats, "cumulative", args.top)
            print(text)
            results["profile_top_cumulative"] = text.splitlines()
            print(f"\n# top {args.top} by own time")
            text = top_text(stats, "tottime", args.top)
            print(text)
            results["profile_top_tottime"] = text.splitlines()
    finally:
        sink.close()
        shutil.rmtree(work, ignore_errors=True)

    return finish(results, started, BENCH / "out" / "dispatch.json")


def finish(results: dict, started: float, path: Path) -> int:
    """Every benchmark ends so: its whole time and the load at the end, printed and written with its figures."""
    results["bench_wall_s"] = round(time.perf_counter() - started, 1)
    results["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(f"\nwhole benchmark: {results['bench_wall_s']:.0f} s; load average at end: {results['loadavg_at_end']}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
