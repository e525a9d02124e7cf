"""Fixtures of the unit tests: the seed directive and its requirements, read once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from followup.domain.config import Config, Directive, Requirement
from followup.settings import DEFAULTS


@pytest.fixture(scope="session")
def directive(config: Config) -> Directive:
    return config.directive("2023-child-protection")


@pytest.fixture(scope="session")
def children_req(directive: Directive) -> Requirement:
    return directive.requirement("danh-sach-tre-em")


@pytest.fixture(scope="session")
def report_req(directive: Directive) -> Requirement:
    return directive.requirement("bao-cao-6-thang")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the shipped configuration the test can break."""
    root = tmp_path / "config"
    root.mkdir()
    for name in ("recipients.yaml", "schedules.yaml"):
        shutil.copy(DEFAULTS / name, root / name)
    for folder in ("directives", "templates"):
        shutil.copytree(DEFAULTS / folder, root / folder)
    return root
