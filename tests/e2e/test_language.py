"""The clerk's language through the real command line: Vietnamese by default, English by FOLLOWUP_LANGUAGE=en.

The rest of the suite asserts the English texts (tests/conftest.py sets FOLLOWUP_LANGUAGE=en); here the
default is checked as the clerk meets it, with the variable unset.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from followup.settings import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
FOLLOWUP = [sys.executable, "-m", "followup"]
PYTHON_TYPES = ("<bool>", "<str>", "<int>", "<Path>", "<list[", "<float>")


def run(*args: str, lang: str | None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "FOLLOWUP_LANGUAGE"}
    full.update(COLUMNS="200", **(env or {}), **({"FOLLOWUP_LANGUAGE": lang} if lang else {}))
    return subprocess.run([*FOLLOWUP, *args], capture_output=True, text=True, env=full, cwd=ROOT, timeout=120)


# Every text of every command's help as the command line builds it in one language, and each help page.
HELP = """
import json, typer
from typer.testing import CliRunner
from followup.cli import app

group = typer.main.get_command(app)
ctx = typer.Context(group)
texts = {"": group.help, **{f"--{p.name}": p.help for p in group.get_params(ctx)}}
pages = {"": CliRunner().invoke(app, ["--help"]).output}
for name, command in group.commands.items():
    texts[name] = command.help
    for p in command.get_params(ctx):
        texts[f"{name} {p.name}"] = p.help
        texts[f"{name} {p.name} metavar"] = p.metavar
    pages[name] = CliRunner().invoke(app, [name, "--help"]).output
print(json.dumps({"texts": texts, "pages": pages}))
"""


@pytest.fixture(scope="module")
def helps() -> dict[str, dict[str, dict[str, str | None]]]:
    """Per language: the help texts and the help page of every command."""
    found = {}
    for lang in ("vi", "en"):
        env = {**os.environ, "FOLLOWUP_LANGUAGE": lang, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
        done = subprocess.run([sys.executable, "-c", HELP], capture_output=True, text=True, env=env, check=True)
        found[lang] = json.loads(done.stdout)
    return found


def test_every_help_text_of_every_command_is_translated(helps):
    """A command, option or argument whose help is not wrapped in _() reads the same in both languages."""
    vi, en = helps["vi"]["texts"], helps["en"]["texts"]
    assert vi.keys() == en.keys()
    same = [key for key, text in vi.items() if text and text == en[key] and not key.endswith("metavar")]
    assert same == [], f"help shown in English whatever the language (wrap it in _() and run make messages): {same}"
    assert {"check", "dispatch", "status", "record", "triage", "demo", "status as_of"} <= vi.keys()
    assert vi["status directive metavar"] == "VĂN_BẢN" and en["status directive metavar"] == "DIRECTIVE"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_help_of_every_command_speaks_the_language_without_python_types(helps, lang: str):
    for command, page in helps[lang]["pages"].items():
        assert not [t for t in PYTHON_TYPES if t in page], f"followup {command} --help shows a Python type:\n{page}"
        if lang == "vi":
            assert "Cách dùng:" in page and "Tùy chọn" in page and "Hiện hướng dẫn này rồi thoát." in page, page
            assert "Usage:" not in page and "Show this message" not in page, page
        else:
            assert "Usage:" in page and "Options" in page and "Show this message and exit." in page, page


def test_the_console_script_prints_the_same_help(helps):
    """The pages above are those of `python -m followup`, Vietnamese with FOLLOWUP_LANGUAGE unset."""
    shown = run("status", "--help", lang=None)
    assert shown.returncode == 0 and "Cách dùng: python -m followup status [TÙY_CHỌN] {VĂN_BẢN}" in shown.stdout
    assert re.search(r"--as-of +NGÀY +tình hình tại ngày hoặc thời điểm này", shown.stdout), shown.stdout
    assert re.search(r"--json +in dạng JSON", shown.stdout), shown.stdout  # a flag: no type, no metavar
    assert "Usage: python -m followup status [OPTIONS] {DIRECTIVE}" in run("status", "--help", lang="en").stdout


def test_status_is_vietnamese_by_default_and_english_by_the_setting(isolated_home: Path):
    env = {"FOLLOWUP_NOW": "2023-02-27T08:00+07:00"}
    vi = run("status", "2023-child-protection", lang=None, env=env)
    assert vi.returncode == 0, vi.stderr
    assert "Tình hình nộp báo cáo" in vi.stdout and "Đơn vị" in vi.stdout and "Phải nộp" in vi.stdout
    assert "chưa nộp" in vi.stdout and "(quá hạn)" in vi.stdout and "Ủy ban nhân dân xã Cao Sơn" in vi.stdout
    en = run("status", "2023-child-protection", lang="en", env=env)
    assert en.returncode == 0, en.stderr
    assert "Reporting status" in en.stdout and "not sent" in en.stdout and "(overdue)" in en.stdout
    assert "chưa nộp" not in en.stdout


def test_errors_are_one_line_in_the_clerks_language(isolated_home: Path):
    unknown = run("status", "2099-nothing", lang=None)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        f"không có văn bản '2099-nothing' trong {DEFAULTS / 'directives'}; các văn bản hiện có: 2023-child-protection"
    )
    assert "no directive '2099-nothing'" in run("status", "2099-nothing", lang="en").stderr

    missing = run("status", lang=None)
    assert missing.returncode == 2 and missing.stderr.strip().startswith("Thiếu đối số 'VĂN_BẢN'.")
    typo = run("statu", lang=None)
    assert typo.returncode == 2 and "Không có lệnh statu. Có phải ý bạn là status?" in typo.stderr
    number = run("triage", "--assign", "mot", lang="en")
    assert number.returncode == 2
    assert number.stderr.strip() == (
        "Invalid value for '--assign': write a whole number, e.g. 12. Help: python -m followup triage --help"
    )


def test_check_names_the_file_line_and_fix_in_vietnamese(tmp_path: Path):
    root = tmp_path / "config"
    shutil.copytree(DEFAULTS / "directives", root / "directives")
    shutil.copytree(DEFAULTS / "templates", root / "templates")
    shutil.copy(DEFAULTS / "schedules.yaml", root)
    text = (DEFAULTS / "recipients.yaml").read_text(encoding="utf-8")
    (root / "recipients.yaml").write_text(text.replace("[ubnd@caoson.bachthong.example]", "[ubnd-caoson]"), "utf-8")
    result = run("check", lang=None, env={"FOLLOWUP_CONFIG": str(root)})
    assert result.returncode == 1
    assert "Phát hiện 1 lỗi:" in result.stderr
    assert f"{root / 'recipients.yaml'}:" in result.stderr
    assert (
        "'ubnd-caoson' không phải địa chỉ thư điện tử; hãy viết dạng tên@tên-miền, ví dụ ubnd@caoson.example"
        in result.stderr
    )


def test_a_dotenv_file_chooses_the_language(tmp_path: Path):
    (tmp_path / ".env").write_text("FOLLOWUP_LANGUAGE=en\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "FOLLOWUP_LANGUAGE"}
    env.update(COLUMNS="200", PYTHONPATH=str(ROOT))
    shown = subprocess.run([*FOLLOWUP, "--help"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert "Usage:" in shown.stdout and "Follow a district directive" in shown.stdout
