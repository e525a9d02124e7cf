"""The compiled report of a period, on fakes: the real unit of work over an in-memory store, a FakeSender.

One full cycle is played: the directive goes out, the communes send their lists in February, every unit its
first-half report in May (on time, late, corrected, broken, or never), the clerk compiles 2023-H1 on 16/05 and
sends the summaries. Every expected figure is computed here from what the units were made to send, not from
the store.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
import stat
import struct
import unicodedata
import zipfile
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import docx
import openpyxl
import pytest

from followup import simulation as simulate
from followup.documents import annex as annex_doc
from followup.documents.chart import chart_png
from followup.documents.letter import docx_text
from followup.documents.libreoffice import to_pdf
from followup.domain.compilation import (
    REDACTED,
    Redactor,
    Reply,
    UnitInfo,
    compile_period,
    summary_markdown,
    vn_number,
)
from followup.domain.config import Config, Directive
from followup.domain.periods import Period, due_for
from followup.domain.special_groups import SPECIAL_GROUPS
from followup.domain.states import Delivery, Source
from followup.domain.tracking import Fact, slot_status
from followup.forms.identity import read_identity
from followup.services.dispatch import dispatch
from followup.services.interpret import Interpreter
from followup.services.report import ReportResult, default_period, produce
from followup.services.store import store_message
from followup.storage.models import ChildRecord

from fakes import FakeSender, fake_uow, fixed_clock

DIRECTIVE = "2023-child-protection"
LIST, H1 = "danh-sach-tre-em", "bao-cao-6-thang"
DISPATCH_AT = "2023-02-06T08:00:00+07:00"
COMPILE_AT = "2023-05-16T08:00:00+07:00"
AS_OF = dt.date(2023, 2, 20)

# What each unit does with its first-half report (due "trước ngày 15/05/2023"); the others send it on time.
LATE = ("XA-VUMUON", "P-YTE")
NEVER = ("XA-QUANHA", "HOICCB")
BROKEN = ("XA-SYBINH",)  # breaks a rule of the directive: rejected, never corrected
TWICE = ("XA-CAOSON", "P-GDDT")  # send once, then a corrected report: the first is superseded
NO_LIST = ("XA-TANTU",)  # the commune never sends its list
NAMED = "XA-CAMGIANG"  # its narrative names one of its listed children


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00+07:00")


def form_of(raw: bytes, requirement: str) -> tuple[str, bytes]:
    for name, data in simulate.attachments_of(raw).items():
        if name.endswith((".xlsx", ".docx")) and not name.startswith("Công văn"):
            identity = read_identity(data, name)
            if identity and identity.requirement == requirement:
                return name, data
    raise AssertionError(f"no {requirement} form in the message")


class Cycle:
    """What the units were made to send, and what the report made of it."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, int]] = {}  # unit -> the values of its latest accepted report
        self.superseded: dict[str, dict[str, int]] = {}
        self.children: dict[str, list[simulate.SyntheticChild]] = {}
        self.sender = FakeSender()
        self.result: ReportResult
        self.home: Path
        self.logs: list[str] = []


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> Cycle:
    from followup.domain.config import load_config
    from followup.settings import DEFAULTS

    config = load_config(DEFAULTS)
    directive = config.directive(DIRECTIVE)
    h1 = directive.requirement(H1)
    tmp = tmp_path_factory.mktemp("report")
    uow = fake_uow(tmp, fixed_clock(config.tz, DISPATCH_AT))
    out = FakeSender()
    with uow:
        dispatch(uow, out, config, directive, tmp / "documents")
    who = {email: u.code for u in config.recipients.units for email in u.emails}
    received = {who[s.recipients[0]]: s.data for s in out.sent}
    cycle = Cycle()
    raws: list[bytes] = []
    communes = [u.code for u in config.recipients.units_in(directive.requirement(LIST).from_groups)]
    for unit in communes:
        if unit in NO_LIST:
            continue
        kids = simulate.synthetic_children(3 + len(unit) % 5, seed=unit, as_of=AS_OF)
        cycle.children[unit] = kids
        name, blank = form_of(received[unit], LIST)
        raws.append(simulate.reply_email(received[unit], [(name, simulate.fill_children_list(blank, kids))],
                                         date=at("2023-02-15")))  # fmt: skip
    for unit in (u.code for u in config.recipients.units_in(h1.from_groups)):
        if unit in NEVER:
            continue
        name, blank = form_of(received[unit], H1)
        values = simulate.plausible_report_values(f"h1:{unit}", requirement=h1)
        narrative = None
        if unit == NAMED:
            narrative = {"ket_qua": f"Đã hỗ trợ kịp thời cháu {cycle.children[unit][0].name} và gia đình."}
        data = simulate.fill_periodic_report(blank, values, narrative, seed=unit)
        if unit in BROKEN:
            data = simulate.break_report(data, "rule")
        day = "2023-05-20" if unit in LATE else "2023-05-10"
        if unit in TWICE:
            first = simulate.plausible_report_values(f"h1-first:{unit}", requirement=h1)
            cycle.superseded[unit] = first
            raws.append(simulate.reply_email(received[unit], [(name, simulate.fill_periodic_report(blank, first))],
                                             date=at("2023-05-08")))  # fmt: skip
        raws.append(simulate.reply_email(received[unit], [(name, data)], date=at(day)))
        if unit not in BROKEN:
            cycle.values[unit] = values

    uow.clock = fixed_clock(config.tz, COMPILE_AT)
    with uow:
        for raw in raws:
            store_message(uow, raw, Source.IMAP)
        Interpreter(uow, config).process_stored()

    cycle.home = tmp / "home"
    handler = _Capture(cycle.logs)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with uow:
            cycle.result = produce(uow, config, directive, "2023-H1", cycle.home, at("2023-05-16", 8), send=True,
                                   sender=cycle.sender, pdf=False)  # fmt: skip
        with uow:
            cycle.names = [name for (name,) in uow.session.query(ChildRecord.name)]  # type: ignore[attr-defined]
            cycle.rerun = produce(uow, config, directive, "2023-H1", cycle.home, at("2023-05-17", 8), send=True,
                                  sender=cycle.sender, pdf=False)  # fmt: skip
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    return cycle


class _Capture(logging.Handler):
    def __init__(self, lines: list[str]):
        super().__init__(logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def names_of(config: Config, codes) -> list[str]:  # type: ignore[no-untyped-def]
    return [config.recipients.unit(code).name for code in codes]


def expected_units(config: Config, directive: Directive) -> list[str]:
    return [u.code for u in config.recipients.units_in(directive.requirement(H1).from_groups)]


# =========================================================================== totals


def test_totals_equal_the_sums_of_what_the_units_sent_and_a_superseded_reply_never_counts(
    cycle: Cycle, config: Config, directive: Directive
) -> None:
    c = cycle.result.compilation
    for indicator in c.indicators:
        by_hand = sum(values[indicator.code] for values in cycle.values.values())
        assert indicator.total == by_hand, indicator.code
        assert (indicator.reported, indicator.expected) == (len(cycle.values), 36)
        assert indicator.partial and indicator.previous is None
    per_unit = {u.code: dict(u.values) for u in c.units}
    for unit, values in cycle.values.items():
        assert per_unit[unit] == values
    for unit in (*NEVER, *BROKEN):
        assert per_unit[unit] == {}
    for unit, first in cycle.superseded.items():
        assert first != cycle.values[unit] and per_unit[unit] == cycle.values[unit]

    # Children of the lists, by group and by commune, counted here from the rows the communes sent.
    by_group = Counter(letter for kids in cycle.children.values() for kid in kids for letter in kid.groups)
    assert c.by_group == {g: by_group.get(g, 0) for g in SPECIAL_GROUPS}
    communes = {k.code: k for k in c.children or []}
    assert len(communes) == 14
    for unit, kids in cycle.children.items():
        k = communes[unit]
        assert (k.rows, k.special, k.difficult) == (len(kids), sum(1 for x in kids if x.groups),
                                                    sum(1 for x in kids if x.difficult))  # fmt: skip
    assert not communes["XA-TANTU"].listed and communes["XA-TANTU"].rows == 0
    assert c.children_total[0] == sum(len(kids) for kids in cycle.children.values())


def test_late_and_missing_units_are_listed_and_the_report_says_it_is_partial(
    cycle: Cycle, config: Config, directive: Directive
) -> None:
    report = cycle.result.compilation.report
    assert report.late_units == tuple(names_of(config, [u for u in expected_units(config, directive) if u in LATE]))
    missing = [u for u in expected_units(config, directive) if u in (*NEVER, *BROKEN)]
    assert report.missing_units == tuple(names_of(config, missing))
    assert (report.expected, report.accepted, report.late) == (36, 36 - len(missing), len(LATE))
    assert report.on_time == 36 - len(missing) - len(LATE)
    listing = cycle.result.compilation.list_completeness
    assert listing is not None and listing.missing_units == tuple(names_of(config, NO_LIST))
    assert cycle.result.compilation.partial

    text = "\n".join(docx_text(cycle.result.paths["report"].read_bytes()))
    assert "số liệu chưa đầy đủ" in text and "(*)" in text
    for name in [*report.late_units, *report.missing_units, *listing.missing_units]:
        assert name in text
    assert "BÁO CÁO" in text and "6 tháng đầu năm 2023" in text and "Kính gửi:" in text
    assert "Ủy ban nhân dân tỉnh Bắc Kạn." in text
    assert "Thực hiện Công văn số 1/UBND-LĐTBXH ngày 06/02/2023" in text


# =========================================================================== the document


def _table(document: docx.document.Document, first: str, second: str) -> list[list[str]]:  # type: ignore[name-defined]
    for table in document.tables:
        head = [cell.text for cell in table.rows[0].cells]
        if head[:2] == [first, second]:
            return [[cell.text for cell in row.cells] for row in table.rows]
    raise AssertionError(f"no table {first} | {second}")


def test_the_reports_tables_read_back_with_python_docx_match_the_data(cycle: Cycle, directive: Directive) -> None:
    c = cycle.result.compilation
    document = docx.Document(str(cycle.result.paths["report"]))
    assert any("Số: 1/BC-UBND" in p.text for t in document.tables for cell in t._cells for p in cell.paragraphs)

    totals = _table(document, "STT", "Chỉ tiêu")
    assert [row[1] for row in totals[1:]] == [i.label for i in c.indicators]
    for row, indicator in zip(totals[1:], c.indicators, strict=True):
        assert row[3] == f"{vn_number(indicator.total)} (*)"
        assert row[4] == f"{len(cycle.values)}/36"

    units = _table(document, "STT", "Cơ quan, đơn vị")
    assert units[0][2:] == [f"({n})" for n in range(1, len(c.indicators) + 1)]
    codes = [i.code for i in c.indicators]
    for row, unit in zip(units[1:-1], c.units, strict=True):
        assert row[1] == unit.name
        sent = cycle.values.get(unit.code)
        assert row[2:] == ([vn_number(sent[code]) for code in codes] if sent else ["—"] * len(codes))
    assert units[-1][1] == "Tổng cộng"
    assert units[-1][2:] == [vn_number(sum(v[code] for v in cycle.values.values())) for code in codes]

    groups = _table(document, "Nhóm", "Hoàn cảnh đặc biệt")
    assert [(r[0], r[2]) for r in groups[1:-1]] == [(f"{g})", vn_number(n)) for g, n in c.by_group.items()]
    communes = _table(document, "STT", "Xã, thị trấn")
    for row, unit in zip(communes[1:-1], c.children or [], strict=True):
        kids = cycle.children.get(unit.code)
        assert row[1] == unit.name
        assert row[2] == (vn_number(len(kids)) if kids else "—")

    annex = _table(document, "Yêu cầu báo cáo", "Hạn")
    assert [r[2:7] for r in annex[1:]] == [
        [str(k.expected), str(k.accepted), str(k.on_time), str(k.late), str(len(k.missing_units))]
        for k in c.completeness
    ]
    assert "15/05/2023" in annex[1][1]
    # Results organised by the directive's tasks, the units' narratives attributed to them.
    text = "\n".join(docx_text(cycle.result.paths["report"].read_bytes()))
    for n, task in enumerate(directive.report.tasks, 1):  # type: ignore[union-attr]
        assert f"1.{n}. {task}" in text
    assert "- Ủy ban nhân dân xã Cẩm Giàng: Đã hỗ trợ kịp thời cháu" in text
    assert REDACTED in text


def _redact_each(text: str, names: list[str]) -> str:
    """The rule as first written: every name's pattern tried on the text in turn, longest first."""
    text = unicodedata.normalize("NFC", text)
    for name in sorted({unicodedata.normalize("NFC", n).strip() for n in names if n and n.strip()}, key=len)[::-1]:
        pattern = r"(?<!\w)" + r"\s+".join(re.escape(part) for part in name.split()) + r"(?!\w)"
        text = re.sub(pattern, REDACTED, text, flags=re.IGNORECASE)
    return text


def test_redactor_gives_what_trying_every_name_gives() -> None:
    """Only the names whose words are all in a text are tried; what is redacted does not change."""
    names = [
        "Nguyễn Văn An", "Văn An", "Hoàng Thị Hoa", "LÝ SEO PÁO", "Hầu A Dính", "Tên", "ẩn tên", "Đàm Thị H'Lan",
        "Iıan Kı", "Sſon", "Ωμέγα Σίσυφος", "İsmail", "Ký ͅLan", "  ", "", "Bế-Văn Long", "Dương Thị Mai",
    ]  # fmt: skip
    decomposed = unicodedata.normalize("NFD", "Hoàng thị HOA")
    texts = [
        "Cháu Nguyễn Văn An (6 tuổi) và cháu văn an được hỗ trợ.",
        f"Trường hợp {decomposed} ở thôn Nà Pài; LÝ Seo Páo  đã đi học.",
        "Hầu A\nDính, hầu a dínhx, Xhầu A Dính, đàm THỊ h'lan; tên; ẩn tên.",
        "IIAN KI; iian ki; ıian kı; SSON sſon; ωμέγα σίσυφοσ; ΩΜΈΓΑ ΣΊΣΥΦΟΣ; ismail; i̇smail; İSMAIL",
        "Ký ιlan; ký ͅlan; bế-văn long; Bế Văn Long; Dương Thị Mai-Anh; Dương Thị Mai.",
        "Không có tên trẻ em nào.",
        "",
    ]
    redactor = Redactor(names)
    for text in texts:
        assert redactor(text) == _redact_each(text, names), text
    assert Redactor([])("Nguyễn Văn An") == "Nguyễn Văn An"
    assert REDACTED in redactor(texts[0]) and "Văn An" not in redactor(texts[0])


def test_vietnamese_numbers() -> None:
    assert vn_number(1234567) == "1.234.567" and vn_number(0) == "0" and vn_number(None) == "—"


def test_a_rerun_reuses_the_number_and_a_second_send_sends_nothing(cycle: Cycle) -> None:
    assert cycle.result.number == cycle.rerun.number == "1/BC-UBND"
    assert [o.status for o in cycle.result.outcomes] == [Delivery.SENT, Delivery.SENT]
    assert cycle.rerun.outcomes == [] and len(cycle.sender.sent) == 2


def test_default_period_is_the_latest_whose_deadline_has_passed(config: Config, directive: Directive) -> None:
    assert default_period(config, directive, at("2023-05-16", 8)) == Period(2023, 1)
    assert default_period(config, directive, at("2023-11-16", 8)) == Period(2023)
    assert default_period(config, directive, at("2024-06-01", 8)) == Period(2024, 1)
    with pytest.raises(ValueError, match="give --period"):
        default_period(config, directive, at("2023-02-27", 8))


# =========================================================================== mail, chart, annex


def _parts(message: EmailMessage) -> list[EmailMessage]:
    return [p for p in message.walk() if not p.is_multipart()]  # type: ignore[misc]


def test_leadership_get_the_figures_the_chart_inline_and_the_report_officers_the_files(
    cycle: Cycle, config: Config
) -> None:
    [to_leaders] = [s for s in cycle.sender.sent if "chutich@bachthong.example" in s.recipients]
    [to_officers] = cycle.sender.to("treem.ldtbxh@bachthong.example")
    assert set(to_leaders.recipients) == {leader.email for leader in config.recipients.leadership}
    message = to_leaders.message
    related = [p for p in message.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1
    image = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert image["Content-ID"] == "<chart>" and image.get_content_disposition() == "inline"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert 'src="cid:chart"' in html
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "chưa có số liệu cùng kỳ" in plain and "CHƯA ĐẦY ĐỦ" in plain
    c = cycle.result.compilation
    assert f"{vn_number(c.indicators[0].total)} trẻ" in plain
    assert all(name in plain for name in c.report.missing_units)
    files = {p.get_filename() for p in message.iter_attachments()}  # type: ignore[attr-defined]
    assert files == {cycle.result.paths["report"].name}
    officer_files = {p.get_filename() for p in to_officers.iter_attachments()}  # type: ignore[attr-defined]
    assert officer_files == {cycle.result.paths[k].name for k in ("report", "annex", "restricted")}


def test_the_chart_is_a_valid_png(cycle: Cycle) -> None:
    data = cycle.result.paths["chart"].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 400 and height > 200
    from matplotlib import pyplot as plt

    assert plt.imread(io.BytesIO(data)).shape[:2] == (height, width)
    assert chart_png(cycle.result.compilation, "x")[:8] == data[:8]


def test_text_that_looks_like_a_formula_is_written_as_text(config: Config, directive: Directive) -> None:
    h1 = directive.requirement(H1)
    risky = ['=HYPERLINK("http://x.example","bấm")', "+1+2", "-3+4", "@SUM(A1:A9)"]
    units = [UnitInfo(f"U{n}", name) for n, name in enumerate(risky)]
    due = due_for(directive, h1, Period(2023, 1), config.tz)
    facts = {"U0": [Fact("U0", "accepted", at("2023-05-10"))]}  # type: ignore[arg-type]
    status = slot_status(DIRECTIVE, due, [u.code for u in units], facts, at("2023-05-16"))
    c = compile_period(directive, Period(2023, 1), h1, units,
                       [Reply("U0", at("2023-05-10"), {"values": {"tong_so_tre_em": 5}})], status,
                       as_of=at("2023-05-16"))  # fmt: skip
    data = annex_doc.annex_workbook(c)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert sheets and not any("<f>" in sheet or "<f " in sheet for sheet in sheets)
    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = {cell.value: cell for ws in book for row in ws.iter_rows() for cell in row if cell.value in risky}
    assert set(cells) == set(risky) and {cell.data_type for cell in cells.values()} == {"s"}
    assert (
        openpyxl.load_workbook(io.BytesIO(annex_doc.restricted_workbook([[1, "=cmd|' /C calc'!A0"]])))
        .active["B2"]
        .data_type
        == "s"
    )


# =========================================================================== personal data


def test_no_childs_name_reaches_leadership_logs_or_artifacts_and_the_restricted_file_is_0600(
    cycle: Cycle, config: Config
) -> None:
    names = cycle.names
    assert len(names) == sum(len(kids) for kids in cycle.children.values()) > 30
    leaders = {leader.email for leader in config.recipients.leadership}
    seen: list[str] = []
    for sent in cycle.sender.sent:
        if not leaders & set(sent.recipients):
            continue
        message = sent.message
        seen.append(str(message["Subject"]))
        for part in _parts(message):
            payload = part.get_payload(decode=True) or b""
            if part.get_content_maintype() == "text":
                seen.append(payload.decode("utf-8"))
            elif (part.get_filename() or "").endswith(".docx"):
                seen.extend(docx_text(payload))
    artifact = summary_markdown(cycle.result.compilation, cycle.result.title)
    seen += [artifact, *cycle.logs]
    paths = cycle.result.paths
    seen += docx_text(paths["report"].read_bytes())
    book = openpyxl.load_workbook(paths["annex"])
    seen += [str(cell.value) for ws in book for row in ws.iter_rows() for cell in row if cell.value is not None]
    haystack = "\n".join(seen).lower()
    assert len(haystack) > 5000
    leaked = [name for name in names if name.lower() in haystack]
    assert leaked == []

    restricted = paths["restricted"]
    assert "restricted" in restricted.parts
    assert stat.S_IMODE(os.stat(restricted).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(restricted.parent).st_mode) == 0o700
    listed = openpyxl.load_workbook(restricted).active
    assert sorted(str(r[2]) for r in listed.iter_rows(min_row=2, values_only=True)) == sorted(names)


def test_the_restricted_list_streamed_keeps_text_as_text_and_dates_as_dates() -> None:
    born = dt.date(2015, 3, 9)
    rows = [
        [1, "Xã A", "Lò Văn Páo", born, "Nam", "", "", "", "a, d", "Có", "", ""],
        [2, '=HYPERLINK("http://x.example")', "-Lò Thị Mai", None, "+1", "@x", "", "", "", "", "", ""],
    ]
    data = annex_doc.restricted_workbook(iter(rows))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.title == "Danh sách trẻ em" and sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == list(annex_doc.CHILD_COLUMNS) and all(c.font.b for c in sheet[1])
    assert sheet["C2"].value == "Lò Văn Páo" and sheet["D2"].number_format == "DD/MM/YYYY"
    assert sheet["D2"].value.date() == born and sheet["E2"].value == "Nam" and sheet["F2"].value is None
    for ref in ("B3", "C3", "E3", "F3"):
        assert sheet[ref].data_type == "s" and sheet[ref].quotePrefix, ref
    assert sheet["B3"].value == '=HYPERLINK("http://x.example")'
    assert sheet.column_dimensions["C"].width == 11 and sheet.max_row == 3
    # a control character a form carried (no XML may hold it) is dropped, not the row; no child, no row
    odd = annex_doc.restricted_workbook([[1, "Xã A", "Lò\x0bVăn  Páo ", born]])
    assert openpyxl.load_workbook(io.BytesIO(odd)).active["C2"].value == "LòVăn  Páo "
    assert openpyxl.load_workbook(io.BytesIO(annex_doc.restricted_workbook(iter([])))).active.max_row == 1


def _fake_soffice(folder: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``soffice`` first on PATH that behaves as the script says (LibreOffice failing or hanging)."""
    folder.mkdir()
    soffice = folder / "soffice"
    soffice.write_text("#!/bin/sh\n" + script)
    soffice.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_a_failed_pdf_costs_no_file_and_no_summary(
    config: Config, directive: Directive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LibreOffice failing (or over its time) leaves the .docx, annex, chart and restricted list written and the
    summaries sent with the .docx; the clerk is told why there is no PDF. An earlier run's PDF is not kept."""
    _fake_soffice(tmp_path / "bin", "echo 'Error: source file could not be loaded' >&2\nexit 1\n", monkeypatch)
    home = tmp_path / "home"
    uow = fake_uow(tmp_path, fixed_clock(config.tz, COMPILE_AT))
    sender = FakeSender()
    with uow:
        result = produce(uow, config, directive, "2023-H1", home, at("2023-05-16", 8), pdf=False)
        stale = result.paths["report"].with_suffix(".pdf")
        stale.write_bytes(b"%PDF- of an earlier compilation")
        result = produce(uow, config, directive, "2023-H1", home, at("2023-05-17", 8), send=True, sender=sender)
    assert set(result.paths) == {"report", "annex", "chart", "restricted"} and not stale.exists()
    assert all(path.stat().st_size > 0 for path in result.paths.values())
    [warning] = result.warnings
    assert "source file could not be loaded" in warning and result.paths["report"].name in warning
    assert [o.status for o in result.outcomes] == [Delivery.SENT, Delivery.SENT]
    [to_leaders] = [s for s in sender.sent if "chutich@bachthong.example" in s.recipients]
    assert {p.get_filename() for p in to_leaders.message.iter_attachments()} == {result.paths["report"].name}


def test_libreoffice_over_its_time_is_stopped_with_what_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """soffice starts soffice.bin: on timeout both go, or the conversion would go on writing after the error."""
    started = tmp_path / "started"
    _fake_soffice(tmp_path / "bin", f"sleep 60 &\necho $! > {started}\nwait\n", monkeypatch)
    source = tmp_path / "report.docx"
    source.write_bytes(b"PK")
    with pytest.raises(RuntimeError, match=r"LibreOffice took more than 1 s to convert report\.docx"):
        to_pdf(source, tmp_path / "out", timeout=1)
    pid = int(started.read_text())
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "\nState:\tZ" in status.read_text()  # gone, or dead and not yet reaped
