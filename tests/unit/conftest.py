"""Fixtures of the unit tests: the seed directive and its requirements, read once."""

from __future__ import annotations

import pytest

from followup.domain.config import Config, Directive, Requirement


@pytest.fixture(scope="session")
def directive(config: Config) -> Directive:
    return config.directive("2023-child-protection")


@pytest.fixture(scope="session")
def children_req(directive: Directive) -> Requirement:
    return directive.requirement("danh-sach-tre-em")


@pytest.fixture(scope="session")
def report_req(directive: Directive) -> Requirement:
    return directive.requirement("bao-cao-6-thang")
