"""The command line as the clerk uses it: real processes, a real SMTP server on loopback, and a real Prefect
server where one stands."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from followup.settings import DEFAULTS

from smtp_server import Sink, smtp_sink

FOLLOWUP = [sys.executable, "-m", "followup"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [*FOLLOWUP, *args], capture_output=True, text=True, env=full_env, cwd=cwd or ROOT, timeout=180
    )


def test_check_passes_on_the_shipped_configuration():
    result = run("check")
    assert result.returncode == 0, result.stderr
    assert "36 units, 1 directive(s)" in result.stdout and "All checks passed." in result.stdout


def test_check_lists_every_problem_and_fails(tmp_path):
    root = tmp_path / "config"
    shutil.copytree(DEFAULTS, root)
    text = (root / "recipients.yaml").read_text(encoding="utf-8")
    text = text.replace("emails: [ubnd@caoson.bachthong.example]", "emails: [ubnd-caoson]")
    text = text.replace("groups: [phong-ban], emails: [yte@", "groups: [phong-ban-huyen], emails: [yte@")
    (root / "recipients.yaml").write_text(text, encoding="utf-8")
    result = run("check", env={"FOLLOWUP_CONFIG": str(root)})
    assert result.returncode == 1
    assert "2 problem(s) found" in result.stderr
    assert "'ubnd-caoson' is not an e-mail address" in result.stderr
    assert "unknown group 'phong-ban-huyen'" in result.stderr
    assert f"{root / 'recipients.yaml'}:" in result.stderr


def test_draft_writes_the_letter_and_forms_and_sends_nothing(isolated_home):
    result = run("draft", "2023-child-protection", env={"FOLLOWUP_NOW": "2023-02-03"})
    assert result.returncode == 0, result.stderr
    folder = isolated_home / "drafts" / "2023-child-protection"
    names = sorted(p.name for p in folder.iterdir())
    assert "Công văn số nhap-UBND-LĐTBXH.docx" in names
    assert any(n.startswith("Danh sách trẻ em") and n.endswith(".xlsx") for n in names)
    assert not (isolated_home / "mail").exists()


def test_dispatch_sends_once_prints_the_table_and_a_rerun_skips(isolated_home):
    env = {"FOLLOWUP_NOW": "2023-02-06T08:00+07:00"}
    with smtp_sink() as (sink, url):
        env["FOLLOWUP_SMTP_URL"] = url
        dry = run("dispatch", "2023-child-protection", "--dry-run", env=env)
        assert dry.returncode == 0, dry.stderr
        assert "36 planned" in dry.stdout and not sink.received
        first = run("dispatch", "2023-child-protection", env=env)
        assert first.returncode == 0, first.stderr
        assert "36 sent" in first.stdout and "XA-VUMUON" in first.stdout and "số 1/UBND-LĐTBXH" in first.stdout
        second = run("dispatch", "2023-child-protection", env=env)
        assert second.returncode == 0 and "36 skipped" in second.stdout
    assert len(sink.received) == 36


def test_dispatch_exit_code_says_a_unit_failed(isolated_home):
    env = {"FOLLOWUP_NOW": "2023-02-06T08:00+07:00"}
    with smtp_sink(Sink(refuse={"tuphap@bachthong.example"})) as (sink, url):
        env["FOLLOWUP_SMTP_URL"] = url + "?backoff=0"
        result = run("dispatch", "2023-child-protection", "--unit", "P-TUPHAP", "--unit", "P-YTE", env=env)
    assert result.returncode == 1
    assert "1 sent, 1 failed" in result.stdout and "550" in result.stdout
    assert "1 unit(s) failed" in result.stderr


def _artifact(data: str) -> object:
    """A table artifact is JSON in the JSON column; a markdown one is the text itself."""
    value = json.loads(data)
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def test_without_a_prefect_server_a_command_runs_its_job_directly(isolated_home):
    """No Prefect server stands (none named, no `followup serve`): the job runs in the command's own process.
    No server is started for it and Prefect is not even imported (each cost seconds a command)."""
    env = {"FOLLOWUP_NOW": "2023-02-06T08:00+07:00", "PYTHONPROFILEIMPORTTIME": "1"}
    result = run("dispatch", "2023-child-protection", "--unit", "P-YTE", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 sent" in result.stdout
    profile = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    imported = [line.rsplit("|", 1)[1].strip() for line in profile]
    assert "followup.jobs" in imported and "followup.services.dispatch" in imported  # the profile is read right
    assert not [m for m in imported if m.split(".")[0] in ("prefect", "flows") and m not in ("flows", "flows.server")]
    assert not (isolated_home / "prefect").exists()  # no Prefect state: no server, no run recorded


def test_demo_runs_on_a_fresh_folder_and_says_where_everything_is(prefect_api, prefect_home, tmp_path):
    """The demo with a Prefect server standing: its jobs run as flows, whose records are checked too."""
    env = {"PREFECT_API_URL": prefect_api, "FOLLOWUP_HOME": str(tmp_path / "var")}
    result = run("demo", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "36 sent" in out
    # six units reply (one late, one with an error in its list, one never does); each is answered
    assert "Fetched 6 message(s): 6 new" in out and "1 rejected" in out and "Answers sent: 6." in out
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("danh-sach-tre-em"))
    assert row[3:10] == [
        "14",
        "4",
        "1",
        "1",
        "0",
        "9",
        "10",
    ]  # expected, accepted, late, rejected, pending, missing, overdue
    demo = tmp_path / "var" / "demo"
    # 36 letters, 6 answers, then reminders: the 9 silent communes and the rejected one, and leadership; then the
    # report's summaries to leadership and to the data officers
    assert len(list((demo / "mail" / "outbox" / "new").iterdir())) == 36 + 6 + 10 + 1 + 2
    assert "Công văn số 2-UBND-LĐTBXH (đôn đốc).docx" in out and "XA-SYBINH" in out
    assert (
        len(list((demo / "mail" / "inbox" / "cur").iterdir())) + len(list((demo / "mail" / "inbox" / "new").iterdir()))
        == 6
    )
    assert (demo / "documents" / "2023-child-protection" / "Công văn số 1-UBND-LĐTBXH.docx").exists()
    assert str(demo / "mail" / "outbox") in out

    # Prefect's database (logs, artifacts, parameters) is shown in its UI: counts only, never a name.
    store = sqlite3.connect(tmp_path / "var" / "demo" / "followup.db")
    personal = {v for row in store.execute("SELECT name, carer, village FROM child_records") for v in row if v}
    assert len(personal) > 20  # the units' lists were read and kept in the store
    prefect_bytes = b"".join(p.read_bytes() for p in prefect_home.glob("prefect.db*"))
    leaked = [v for v in personal if v.encode() in prefect_bytes]
    assert leaked == []
    assert not any(v in result.stdout for v in personal)  # nor on the clerk's screen

    db = sqlite3.connect(prefect_home / "prefect.db")
    artifacts = {key: _artifact(data) for key, data in db.execute("SELECT key, data FROM artifact ORDER BY created")}
    assert {"status": "sent", "units": 36} in artifacts["dispatch-2023-child-protection"]
    status = {row["requirement"]: row for row in artifacts["reply-status"]}
    assert status["danh-sach-tre-em"]["accepted"] == 4 and status["danh-sach-tre-em"]["expected"] == 14
    # the flows' own summaries reach Prefect's records (shown in its UI), although the clerk's console is quiet
    logs = [message for (message,) in db.execute("SELECT message FROM log")]
    assert any(m.startswith("dispatch 2023-child-protection: 36 sent") for m in logs), logs[-5:]
    assert any(m.startswith("collect: 6 fetched") for m in logs), logs[-5:]
    assert any(m.startswith("report 2023-child-protection 2023-H1: số 1/BC-UBND") for m in logs), logs[-5:]
    assert "| Tổng số trẻ em trên địa bàn (trẻ) |" in artifacts["report-2023-child-protection-2023-h1"]

    # The report of 2023-H1, from the units that sent their report forms with their lists; its restricted list 0600.
    folder = demo / "reports" / "2023-child-protection" / "2023-H1"
    assert "Báo cáo số 1/BC-UBND: Kết quả thực hiện công tác bảo vệ, chăm sóc trẻ em 6 tháng đầu năm 2023" in out
    assert (folder / "Báo cáo số 1-BC-UBND - 2023-H1.docx").exists() and str(folder) in out
    [restricted] = (folder / "restricted").iterdir()
    assert stat.S_IMODE(restricted.stat().st_mode) == 0o600
    assert not any(line.startswith(("Traceback", "INFO", "WARNING")) for line in result.stderr.splitlines())
