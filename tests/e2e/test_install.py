"""Starting out from a wheel, as a newcomer does with pip or pipx: no checkout, the defaults in the package.

The wheel is built from a copy of the sources outside the repository and installed into a fresh virtual
environment that reuses the suite's dependencies (its site-packages on the path, without the editable
install of this checkout); the commands run there, in an empty folder, with no PYTHONPATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from serving import Api, followup_serve

ROOT = Path(__file__).resolve().parents[2]
BUILT = ("pyproject.toml", "README.md", "LICENSE", "followup", "flows")  # what the wheel is built from
DIRECTIVE = "2023-child-protection"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh environment where the wheel of these sources is installed."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in BUILT:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(work / "dist"), str(source)], capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (work / "dist").glob("followup-*.whl")

    env_dir = work / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    # The dependencies, already installed for the suite: a plain path, so that folder's .pth files (the editable
    # install of this checkout among them) are not run, and followup and flows can only come from the wheel.
    Path(site, "suite-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    done = subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", str(wheel)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return env_dir / "bin"


def environment(lang: str = "en") -> dict[str, str]:
    """None of the suite's settings (nor its PYTHONPATH); English unless asked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOLLOWUP_", "PREFECT_", "PYTHON"))}
    if lang:
        env["FOLLOWUP_LANGUAGE"] = lang
    return {**env, "COLUMNS": "200"}


def followup(bin_dir: Path, *args: str, cwd: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    """The installed command."""
    return subprocess.run([bin_dir / "followup", *args], capture_output=True, text=True, cwd=cwd,
                          env=environment(lang), timeout=300)  # fmt: skip


def test_check_and_init_work_from_the_wheel(installed: Path, tmp_path: Path):
    # An empty folder: the built-in configuration is the package's; the clerk reads it in Vietnamese, from the
    # catalogues the wheel carries.
    checked = followup(installed, "check", cwd=tmp_path, lang="")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Tất cả đều hợp lệ." in checked.stdout and "36 đơn vị" in checked.stdout
    assert f"cấu hình trong {installed.parent}/lib/" in checked.stdout  # the environment's site-packages
    english = followup(installed, "check", cwd=tmp_path)
    assert "All checks passed." in english.stdout and "36 units, 1 directive(s)" in english.stdout

    # init writes the clerk's files and says what to edit next; they are what check reads from that folder.
    written = followup(installed, "init", "office", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    office = tmp_path / "office"
    for name in ("recipients.yaml", "schedules.yaml", f"directives/{DIRECTIVE}.yaml", "templates/directive.docx",
                 "templates/report.docx", "templates/email/reminder.html", "prefect.yaml"):  # fmt: skip
        assert (office / name).is_file(), name
    assert "recipients.yaml" in written.stdout and "followup check" in written.stdout
    recipients = office / "recipients.yaml"
    text = recipients.read_text(encoding="utf-8")
    recipients.write_text(text.replace("emails: [ubnd@caoson.bachthong.example]", "emails: [ubnd-caoson]"), "utf-8")
    broken = followup(installed, "check", cwd=office)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"{recipients}:" in broken.stderr and "'ubnd-caoson' is not an e-mail address" in broken.stderr

    # a second init overwrites nothing the clerk wrote, unless asked
    again = followup(installed, "init", "office", cwd=tmp_path)
    assert again.returncode == 2 and "recipients.yaml" in again.stderr and "--force" in again.stderr
    assert "ubnd-caoson" in recipients.read_text(encoding="utf-8")
    forced = followup(installed, "init", "office", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert recipients.read_text(encoding="utf-8") == text

    # a template lost: check names the built-in one to copy, and it is there
    (office / "templates" / "directive.docx").unlink()
    lost = followup(installed, "check", cwd=office)
    assert lost.returncode == 1
    [line] = [line for line in lost.stderr.splitlines() if "directive.docx: missing" in line]
    builtin = Path(line.split("copy the built-in one from ")[1])
    assert builtin.is_relative_to(installed.parent)
    shutil.copy(builtin, office / "templates")
    assert followup(installed, "check", cwd=office).returncode == 0


def test_the_demo_and_a_served_flow_run_from_the_wheel(installed: Path, tmp_path: Path):
    """The README's first command works from the wheel (no Prefect server standing: its jobs run directly);
    flows/ ships in it, and `followup serve` starts Prefect's server from the installed environment, on which
    a command of the same folder runs its flow."""
    demo = followup(installed, "demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "36 sent" in demo.stdout and "Answers sent: 6." in demo.stdout and "Traceback" not in demo.stderr
    assert (tmp_path / "var" / "demo" / "reports" / DIRECTIVE / "2023-H1").is_dir()

    assert followup(installed, "init", "office", cwd=tmp_path).returncode == 0
    office = tmp_path / "office"
    with followup_serve(environment(), tmp_path / "serve.log", [str(installed / "followup")], cwd=office):
        ui = (tmp_path / "serve.log").read_text().split("Prefect UI: ", 1)[1].split()[0]
        planned = followup(installed, "dispatch", DIRECTIVE, "--dry-run", cwd=office)
        assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr[-3000:]
        assert "36 planned" in planned.stdout and "Traceback" not in planned.stderr
        [run] = Api(f"{ui}/api").flow_runs("dispatch")
        assert run["state_type"] == "COMPLETED" and run["parameters"]["dry_run"] is True
