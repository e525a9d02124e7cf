"""A period's figures for the clerk's own spreadsheets: the report's annex (figures per unit, children per
commune and group, completeness) as xlsx and CSV, compiled as the report compiles them, numbering nothing.

Children's names leave the store only when asked (``with_names``), into their own files under ``restricted/``
that only their owner may read (0600, folder 0700); the other files hold counts and office names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from pathlib import Path

from followup.documents.annex import annex_workbook, restricted_workbook, write_private
from followup.documents.tables import csv_sheets
from followup.domain.config import Config, Directive
from followup.domain.periods import Period
from followup.i18n import _
from followup.services.report import child_rows, compile_report
from followup.storage.uow import UnitOfWork


def folder_of(home: Path, directive: str, period: Period) -> Path:
    return home / "exports" / directive / str(period)


def export(
    uow: UnitOfWork,
    config: Config,
    directive: Directive,
    period: Period,
    as_of: dt.datetime,
    folder: Path,
    formats: Collection[str] = ("xlsx",),
    with_names: bool = False,
) -> list[Path]:
    """Write the period's figures (and, ``with_names``, the list of children) under ``folder`` as each of
    ``formats`` (xlsx, csv); their paths."""
    compilation = compile_report(uow, config, directive, period, as_of)
    if with_names and compilation.children is None:
        raise ValueError(
            _("{directive} counts no list of children for {year}; export without --with-names").format(
                directive=directive.code, year=period.year
            )
        )
    written = _write(folder, f"Số liệu - {directive.code} - {period}", annex_workbook(compilation), formats, _plain)
    if with_names:
        rows = child_rows(uow, config, directive, period)
        restricted = folder / "restricted" / f"Danh sách trẻ em (hạn chế) - {directive.code} - {period.year}"
        written += _write(restricted.parent, restricted.name, restricted_workbook(rows), formats, write_private)
    return written


def _write(
    folder: Path, stem: str, workbook: bytes, formats: Collection[str], write: Callable[[Path, bytes], Path]
) -> list[Path]:
    """The workbook as xlsx and/or one CSV per sheet (named after the sheet when there are several)."""
    paths = [write(folder / f"{stem}.xlsx", workbook)] if "xlsx" in formats else []
    if "csv" in formats:
        sheets = csv_sheets(workbook)
        for title, data in sheets:
            paths.append(write(folder / (f"{stem}.csv" if len(sheets) == 1 else f"{stem} - {title}.csv"), data))
    return paths


def _plain(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
