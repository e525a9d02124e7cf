"""The house stays standing: the layer contracts of .importlinter hold, and they do catch a breach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT), "--no-cache", "--config", str(tree / ".importlinter")],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the library to break on purpose."""
    copy = tmp_path_factory.mktemp("house")
    for package in ("followup", "flows"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    return copy


def test_the_contracts_hold() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("followup/domain/clock.py", "import followup.storage.models", "Pure rules"),
        ("followup/services/status.py", "import prefect", "never imports Prefect"),
        ("followup/storage/files.py", "import followup.services.status", "Layers"),
        ("followup/mail/urls.py", "import flows.collect", "Only the CLI starts flows"),
        ("followup/services/report.py", "import followup.jobs", "Layers"),  # a service under the jobs
        ("followup/jobs.py", "import prefect", "never imports Prefect"),  # a command without a server
    ],
)
def test_a_breach_is_named(tree: Path, module: str, line: str, contract: str) -> None:
    path = tree / module
    original = path.read_text(encoding="utf-8")
    path.write_text(original + f"\n{line}  # a breach\n", encoding="utf-8")
    try:
        result = _lint(tree)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode != 0
    assert contract in result.stdout and "BROKEN" in result.stdout
