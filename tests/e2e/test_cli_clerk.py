"""The clerk's everyday questions through the real command line: the version, the units, the directives and who
has replied, the units of one kind, a triaged file to look at, the figures to take away, and the warnings that
come before a mistake (a deadline already past, a broken YAML file).

One district is played once for the module (in-process, no Prefect): the letter goes out on 06/02/2023, Cao
Sơn replies on time, Cẩm Giàng late, Sỹ Bình with an error, Vũ Muộn sends a scan that waits in triage, Đôn Phong
hands in its list on paper (a child's name in it begins with "="); four offices have names that begin like a
formula. The commands then run as real processes on 27/02/2023, a week after the list's deadline.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import email
import email.policy
import hashlib
import io
import json
import mailbox
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import yaml

from flows.collect import fetch_new, interpret
from flows.dispatch import send_queued
from followup import simulation as simulate
from followup.bootstrap import bootstrap
from followup.services import clerk
from followup.settings import DEFAULTS, Settings
from followup.storage.models import ChildRecord

ROOT = Path(__file__).resolve().parents[2]

DIRECTIVE = "2023-child-protection"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
COLLECTED = "2023-02-27T08:00:00+07:00"
RISKY_NAMES = {  # offices whose names begin like a formula; none of them replies
    "P-TUPHAP": "=1+2 Phòng Tư pháp",
    "P-YTE": "+Phòng Y tế",
    "XA-TANTU": "-Ủy ban nhân dân xã Tân Tú",
    "XA-QUANHA": "@Ủy ban nhân dân xã Quân Hà",
}
FORMULA_CHILD = '=HYPERLINK("http://example.invalid","Nông Văn A")'


@dataclasses.dataclass(frozen=True)
class District:
    env: dict[str, str]
    home: Path
    config: Path
    names: frozenset[str]  # every child's name the units sent: never on screen, never outside restricted/


def followup(*args: str, env: dict[str, str], now: str = COLLECTED) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", "FOLLOWUP_LANGUAGE": "en", **env, "FOLLOWUP_NOW": now}
    return subprocess.run(
        [sys.executable, "-m", "followup", *args], capture_output=True, text=True, env=full, cwd=ROOT,
        timeout=180,
    )  # fmt: skip


def config_copy(root: Path) -> Path:
    """The shipped configuration with four offices renamed to begin like a formula."""
    for name in ("schedules.yaml",):
        shutil.copy(DEFAULTS / name, root / name)
    for folder in ("directives", "templates"):
        shutil.copytree(DEFAULTS / folder, root / folder)
    data = yaml.safe_load((DEFAULTS / "recipients.yaml").read_text(encoding="utf-8"))
    for unit in data["units"]:
        unit["name"] = RISKY_NAMES.get(unit["code"], unit["name"])
    (root / "recipients.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    base = tmp_path_factory.mktemp("district")
    (base / "config").mkdir()
    config = config_copy(base / "config")
    env = {"FOLLOWUP_HOME": str(base / "home"), "FOLLOWUP_CONFIG": str(config)}
    with pytest.MonkeyPatch.context() as mp:
        for var in ("FOLLOWUP_SMTP_URL", "FOLLOWUP_IMAP_URL", "FOLLOWUP_DATABASE_URL"):
            mp.delenv(var, raising=False)
        for key, value in env.items():
            mp.setenv(key, value)
        mp.setenv("FOLLOWUP_NOW", "2023-02-06T08:00:00+07:00")
        send_queued.fn(Settings(), DIRECTIVE, None, False, None)
        outbox = [m.as_bytes() for _, m in sorted(mailbox.Maildir(Settings().outbox, create=False).items())]
        lists = frozenset({"danh-sach-tre-em"})
        plan = {
            "XA-CAOSON": simulate.Behaviour("on-time", at=dt.datetime(2023, 2, 13, 9, tzinfo=TZ)),
            "XA-CAMGIANG": simulate.Behaviour("late", at=dt.datetime(2023, 2, 23, 9, tzinfo=TZ), forms=lists),
            "XA-SYBINH": simulate.Behaviour("errors", at=dt.datetime(2023, 2, 19, 11, tzinfo=TZ), forms=lists),
        }
        replies = simulate.play_units(outbox, plan, seed=11)
        vumuon = next(raw for raw in outbox if b".XA-VUMUON.1@" in raw)
        scan = simulate.reply_email(
            vumuon, [("../Danh:sách?.pdf", b"%PDF-1.4 a scan")], date=dt.datetime(2023, 2, 14, 9, tzinfo=TZ)
        )
        inbox = mailbox.Maildir(Settings().inbox, create=True)
        for raw in [*replies, scan]:
            inbox.add(simulate.delivered(raw))
        mp.setenv("FOLLOWUP_NOW", COLLECTED)
        fetch_new.fn(Settings())
        interpret.fn(Settings())

        donphong = next(raw for raw in outbox if b".XA-DONPHONG.1@" in raw)
        blank = next(d for n, d in simulate.attachments_of(donphong).items() if n.endswith(".xlsx"))
        children = simulate.synthetic_children(4, "paper")
        children[0] = dataclasses.replace(children[0], name=FORMULA_CHILD)
        paper = base / "Danh sách Đôn Phong.xlsx"
        paper.write_bytes(simulate.fill_children_list(blank, children))
        app = bootstrap()
        with app.uow() as uow:
            received = dt.datetime(2023, 2, 17, 10, tzinfo=TZ)
            [sub] = clerk.record(
                uow, app.config, "XA-DONPHONG", DIRECTIVE, "danh-sach-tre-em", "2023", [paper], received
            )
            assert sub.status == "accepted", sub.problems
            listed = uow.repo.accepted_children(DIRECTIVE, "danh-sach-tre-em", "2023", ChildRecord.name)
            names = frozenset(name for _, name in listed)
        yield District(env, base / "home", config, names)


def test_version_prints_the_installed_version_without_touching_the_store(tmp_path):
    home = tmp_path / "untouched"
    result = followup("--version", env={"FOLLOWUP_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"followup {version('followup')}"
    assert not home.exists()


def test_units_of_a_group_and_an_unknown_group(district):
    everyone = followup("units", env=district.env)
    assert everyone.returncode == 0, everyone.stderr
    assert "36 unit(s)" in everyone.stdout and "yte@bachthong.example" in everyone.stdout
    communes = followup("units", "--group", "xa-thi-tran", env=district.env)
    assert communes.returncode == 0, communes.stderr
    rows = [line.split() for line in communes.stdout.splitlines() if line.strip().startswith(("XA-", "TT-", "P-"))]
    assert len(rows) == 14 and all(row[0].startswith(("XA-", "TT-")) for row in rows)
    assert "commune" in communes.stdout and "ubnd@caoson.bachthong.example" in communes.stdout
    unknown = followup("units", "--group", "xa", env=district.env)
    assert unknown.returncode == 2
    assert "unknown group 'xa'" in unknown.stderr
    assert "phong-ban (Các Phòng, ban, ngành, đoàn thể huyện)" in unknown.stderr and "xa-thi-tran" in unknown.stderr


def test_directives_show_the_letter_deadlines_and_who_has_replied(district):
    result = followup("directives", env=district.env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert DIRECTIVE in out and "Công văn no. 1/UBND-LĐTBXH of 06/02/2023" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.strip().startswith(("danh-sach", "bao-cao"))}
    assert set(rows) == {"danh-sach-tre-em", "bao-cao-6-thang", "bao-cao-nam"}
    # the list: Cao Sơn and Đôn Phong on time, Cẩm Giàng late; Sỹ Bình's was rejected, Vũ Muộn's waits in triage
    assert "by 20/02/2023" in rows["danh-sach-tre-em"] and " 3/14 " in rows["danh-sach-tre-em"]
    assert "21%" in rows["danh-sach-tre-em"] and "14%" in rows["danh-sach-tre-em"]
    assert "before 15/05/2023" in rows["bao-cao-6-thang"] and " 1/36 " in rows["bao-cao-6-thang"]


def only(district: District, which: str, *extra: str) -> set[str]:
    result = followup(
        "status", DIRECTIVE, "-r", "danh-sach-tre-em", "--only", which, "--json", *extra, env=district.env
    )
    assert result.returncode == 0, result.stderr
    [slot] = json.loads(result.stdout)["slots"]
    assert slot["expected"] == 14  # the counts stay those of every unit
    return {u["unit"] for u in slot["units"]}


def test_status_only_missing_late_or_rejected(district):
    silent = {"TT-PHUTHONG", "XA-DUONGPHONG", "XA-LUCBINH", "XA-MYTHANH", "XA-NGUYENPHUC", "XA-QUANHA",
              "XA-QUANGTHUAN", "XA-TANTU", "XA-VIHUONG"}  # fmt: skip
    assert only(district, "missing") == silent | {"XA-SYBINH"}  # Vũ Muộn's scan waits for the clerk, not the unit
    assert only(district, "rejected") == {"XA-SYBINH"}
    assert only(district, "late") == silent | {"XA-SYBINH", "XA-CAMGIANG"}
    assert only(district, "late", "--as-of", "2023-02-15") == set()  # before the deadline nobody is late

    table = followup("status", DIRECTIVE, "-r", "danh-sach-tre-em", "--only", "rejected", env=district.env)
    assert table.returncode == 0, table.stderr
    assert "rejected: 1 of 14 units" in table.stdout and "XA-SYBINH" in table.stdout
    assert "XA-CAOSON" not in table.stdout
    wrong = followup("status", DIRECTIVE, "--only", "slow", env=district.env)
    assert wrong.returncode == 2 and "'slow' is not one of" in wrong.stderr


def test_triage_show_copies_the_waiting_file_and_leaves_the_store_alone(district):
    listing = followup("triage", env=district.env)
    assert "1 reply(ies) waiting in triage" in listing.stdout
    number = next(line.split()[0] for line in listing.stdout.splitlines() if "Danh:sách?.pdf" in line)
    stored = sorted((district.home / "store").rglob("*"))
    before = {p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in stored if p.is_file()}

    shown = followup("triage", "--show", number, env=district.env)
    assert shown.returncode == 0, shown.stderr
    folder = district.home / "triage" / number
    printed = [Path(line) for line in shown.stdout.splitlines() if line.startswith("/")]
    assert sorted(printed) == sorted(folder.iterdir())
    assert {p.name for p in printed} == {"Danh_sách_.pdf", f"message {number}.eml"}
    assert (folder / "Danh_sách_.pdf").read_bytes() == b"%PDF-1.4 a scan"
    message = email.message_from_bytes((folder / f"message {number}.eml").read_bytes(), policy=email.policy.default)
    assert [part.get_content() for part in message.iter_attachments()] == [b"%PDF-1.4 a scan"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in printed)
    after = {p: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest()) for p in stored if p.is_file()}
    assert after == before and sorted((district.home / "store").rglob("*")) == stored
    assert "1 reply(ies) waiting in triage" in followup("triage", env=district.env).stdout  # still waiting

    assigned = followup("triage", "--show", "9999", env=district.env)
    assert assigned.returncode == 2 and "no reply #9999 waits in triage" in assigned.stderr


def read_csv(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_export_figures_as_xlsx_and_csv_with_formulas_kept_as_text(district):
    result = followup("export", DIRECTIVE, "--period", "2023-H1", "--format", "both", env=district.env)
    assert result.returncode == 0, result.stderr
    folder = district.home / "exports" / DIRECTIVE / "2023-H1"
    printed = {Path(line) for line in result.stdout.splitlines() if line.startswith("/")}
    assert printed == set(folder.iterdir()) and len(printed) == 4  # the workbook and one CSV per table
    assert not (folder / "restricted").exists()

    [xlsx] = [p for p in printed if p.suffix == ".xlsx"]
    wb = openpyxl.load_workbook(xlsx)
    units = wb["Chỉ tiêu theo đơn vị"]
    cells = {row[1].value: row[2] for row in units.iter_rows(min_row=2) if row[1].value}
    for code, name in RISKY_NAMES.items():
        assert cells[code].value == name and cells[code].data_type == "s"

    tables = {p.stem.rsplit(" - ", 1)[-1]: read_csv(p) for p in printed if p.suffix == ".csv"}
    assert set(tables) == {"Chỉ tiêu theo đơn vị", "Trẻ em theo xã và nhóm", "Tình hình gửi báo cáo"}
    by_code = {row[1]: row for row in tables["Chỉ tiêu theo đơn vị"][1:] if row[1]}
    for code, name in RISKY_NAMES.items():
        assert by_code[code][2] == "'" + name  # a spreadsheet shows it as text, never runs it
    assert by_code["XA-CAOSON"][3] == "Đúng hạn" and by_code["XA-CAOSON"][4].isdigit()
    communes = {row[1]: row for row in tables["Trẻ em theo xã và nhóm"][1:] if row[1]}
    assert set(communes) >= {"XA-CAOSON", "XA-DONPHONG", "XA-QUANHA"}
    assert communes["XA-DONPHONG"][3] == "Có" and communes["XA-DONPHONG"][4] == "4"
    assert communes["XA-QUANHA"][2] == "'" + RISKY_NAMES["XA-QUANHA"] and communes["XA-QUANHA"][3] == "Chưa"
    assert tables["Tình hình gửi báo cáo"][1][2] == "15/05/2023"

    everything = "".join(p.read_bytes().decode("utf-8-sig") for p in printed if p.suffix == ".csv")
    strings = {str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None}
    assert district.names and not any(n in everything or n in strings for n in district.names)
    assert not any(n in result.stdout for n in district.names)


def test_export_with_names_writes_a_file_only_its_owner_reads(district):
    result = followup("export", DIRECTIVE, "-p", "2023", "--with-names", "--format", "csv", env=district.env)
    assert result.returncode == 0, result.stderr
    restricted = district.home / "exports" / DIRECTIVE / "2023" / "restricted"
    [names_file] = restricted.iterdir()
    assert stat.S_IMODE(restricted.stat().st_mode) == 0o700
    assert stat.S_IMODE(names_file.stat().st_mode) == 0o600
    rows = read_csv(names_file)
    assert rows[0][:3] == ["STT", "Xã, thị trấn", "Họ và tên"]
    listed = {row[2] for row in rows[1:]}
    assert "'" + FORMULA_CHILD in listed and FORMULA_CHILD not in listed
    assert len(rows) - 1 == len(district.names)
    assert not any(n in result.stdout + result.stderr for n in district.names)

    bad = followup("export", DIRECTIVE, "--period", "2023-H2", env=district.env)
    assert bad.returncode == 2 and "write 2023 for a year or 2023-H1" in bad.stderr


def test_a_letter_whose_deadline_has_passed_warns_and_dispatch_asks_for_force(isolated_home):
    env: dict[str, str] = {}
    late = "2023-03-01T08:00:00+07:00"
    drafted = followup("draft", DIRECTIVE, env=env, now=late)
    assert drafted.returncode == 0, drafted.stderr
    assert "danh-sach-tre-em (2023) by 20/02/2023, which has passed (today is 01/03/2023)" in drafted.stderr
    assert "directives/2023-child-protection.yaml" in drafted.stderr
    assert "bao-cao" not in drafted.stderr  # the half-year and year reports are still ahead

    refused = followup("dispatch", DIRECTIVE, env=env, now=late)
    assert refused.returncode == 2
    assert "by 20/02/2023, which has passed" in refused.stderr and "add --force" in refused.stderr
    assert not (isolated_home / "mail").exists() and not (isolated_home / "documents").exists()

    on_time = followup("draft", DIRECTIVE, env=env, now="2023-02-06T08:00:00+07:00")
    assert on_time.returncode == 0 and "Warning" not in on_time.stderr

    forced = followup("dispatch", DIRECTIVE, "--unit", "XA-CAOSON", "--force", env=env, now=late)
    assert forced.returncode == 0, forced.stderr
    assert "1 sent" in forced.stdout and "which has passed" in forced.stderr
    assert len(list((isolated_home / "mail" / "outbox" / "new").iterdir())) == 1


def test_a_yaml_slip_is_named_with_its_line_cause_and_fix(tmp_path):
    root = config_copy(tmp_path)
    path = root / "directives" / f"{DIRECTIVE}.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("subject:"))
    lines[at] = "subject: V/v: thực hiện công tác bảo vệ chăm sóc trẻ em năm 2023"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    schedules = root / "schedules.yaml"
    schedules.write_text(schedules.read_text(encoding="utf-8").replace("\n  ", "\n\t", 1), encoding="utf-8")
    tab_line = 1 + schedules.read_text(encoding="utf-8").splitlines().index(
        next(line for line in schedules.read_text(encoding="utf-8").splitlines() if line.startswith("\t"))
    )

    result = followup("check", env={"FOLLOWUP_CONFIG": str(root), "FOLLOWUP_HOME": str(tmp_path / "home")})
    assert result.returncode == 1
    assert f"{path}:{at + 1}: not valid YAML: a colon followed by a space inside a text" in result.stderr
    assert 'subject: "V/v: thực hiện công tác bảo vệ chăm sóc trẻ em năm 2023"' in result.stderr
    assert f"{schedules}:{tab_line}: not valid YAML: this line is indented with a tab" in result.stderr
