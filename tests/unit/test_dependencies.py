"""Every third-party module the product imports is declared in pyproject.toml, so a fresh install runs."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _declared() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = {}
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]
        specs[re.sub(r"[-_.]+", "-", name).lower()] = requirement
    return specs


def _imported() -> set[str]:
    modules = set()
    for path in [*ROOT.glob("followup/**/*.py"), *ROOT.glob("flows/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m not in ("followup", "flows")}


def test_every_imported_distribution_is_declared_with_a_lower_bound() -> None:
    declared = _declared()
    distributions = packages_distributions()
    missing = []
    for module in sorted(_imported()):
        names = {re.sub(r"[-_.]+", "-", d).lower() for d in distributions.get(module, [module])}
        found = [declared[n] for n in names if n in declared]
        if not found or not any(">=" in spec for spec in found):
            missing.append(f"{module} ({', '.join(sorted(names))})")
    assert not missing, f"imported but not declared with a lower bound in pyproject.toml: {missing}"


def test_prefect_is_held_below_the_next_major_version() -> None:
    assert "<4" in _declared()["prefect"]
