"""The pure parts of the clerk's tools: which deadlines a letter sent now would already have missed, the name
a triaged file is shown under, and a workbook as CSV with formula-like text kept as text."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import Workbook

from followup.documents.annex import put
from followup.documents.tables import csv_sheets
from followup.domain.config import Config, Directive
from followup.services.clerk import openable_name
from followup.services.dispatch import passed_requests


def moment(text: str, config: Config) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=config.tz)


@pytest.mark.parametrize(
    ("now", "passed"),
    [
        ("2023-02-06T08:00", []),
        ("2023-02-20T23:59", []),  # "chậm nhất ngày 20/02": the day itself is still on time
        ("2023-02-21T00:00", [("danh-sach-tre-em", "2023", dt.date(2023, 2, 20))]),
        ("2023-05-14T16:00", [("danh-sach-tre-em", "2023", dt.date(2023, 2, 20))]),
        # "trước ngày 15/05": on the 15th the half-year report is already late
        ("2023-05-15T08:00", [("danh-sach-tre-em", "2023", dt.date(2023, 2, 20)),
                              ("bao-cao-6-thang", "2023-H1", dt.date(2023, 5, 15))]),
        # the day after, a letter asks for next year's half-year report, which is ahead
        ("2023-05-16T08:00", [("danh-sach-tre-em", "2023", dt.date(2023, 2, 20))]),
    ],
)  # fmt: skip
def test_the_deadlines_a_letter_sent_now_would_already_have_missed(config: Config, directive: Directive, now, passed):
    units = config.recipients.units
    found = passed_requests(directive, units, moment(now, config), config.tz)
    assert [(r.requirement.code, str(r.due.period), r.due.due_date) for r in found] == passed


def test_a_letter_to_departments_only_is_not_late_for_the_communes_list(config: Config, directive: Directive):
    departments = [config.recipients.unit("P-YTE"), config.recipients.unit("P-TUPHAP")]
    assert passed_requests(directive, departments, moment("2023-03-01T08:00", config), config.tz) == []


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("Danh sách trẻ em - Cao Sơn.xlsx", "Danh sách trẻ em - Cao Sơn.xlsx"),
        ("../../etc/Danh:sách?.pdf", "Danh_sách_.pdf"),
        ('C:\\Users\\ubnd\\"báo cáo" <2023>|x.docx', "_báo cáo_ _2023__x.docx"),
        ("báo cáo. ", "báo cáo"),
        ("..", "tep-dinh-kem"),
        (None, "tep-dinh-kem"),
    ],
)
def test_a_triaged_file_is_shown_under_a_name_every_file_system_accepts(sent, shown):
    assert openable_name(sent) == shown


def test_a_workbook_as_csv_keeps_formula_like_text_as_text_and_numbers_as_numbers():
    wb = Workbook()
    ws = wb.active
    ws.title = "Chỉ tiêu"
    rows = [["Đơn vị", "Số", "Hạn"], ["=1+2 Phòng Tư pháp", 12, dt.date(2023, 5, 15)], ["+Phòng Y tế", -5, None],
            ["-Xã Tân Tú", 0.2857, None], ["@SUM(A1)", None, None], ["Xã Cao Sơn", 3, None]]  # fmt: skip
    for r, values in enumerate(rows, 1):
        for c, value in enumerate(values, 1):
            put(ws, r, c, value)
    buffer = io.BytesIO()
    wb.save(buffer)

    [(title, data)] = csv_sheets(buffer.getvalue())
    assert title == "Chỉ tiêu" and data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Vietnamese
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert read == [
        ["Đơn vị", "Số", "Hạn"],
        ["'=1+2 Phòng Tư pháp", "12", "15/05/2023"],
        ["'+Phòng Y tế", "-5", ""],
        ["'-Xã Tân Tú", "0.2857", ""],
        ["'@SUM(A1)", "", ""],
        ["Xã Cao Sơn", "3", ""],
    ]
