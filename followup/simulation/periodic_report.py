"""The periodic report (.docx) as a unit returns it: indicator values written by code and the narrative
sections written over their placeholders, or broken with one realistic mistake; and indicator values that keep
the directive's rules.

It exists so the reader of the report can be exercised on files that look like real replies: the received
document's XML is edited in place, everything else in the file unchanged.
"""

from __future__ import annotations

import copy
import io
import operator
import random
import re
import zipfile
from collections.abc import Mapping
from typing import Any

from lxml import etree

from followup.domain.config import Requirement
from followup.forms.periodic_report import REPORT_SECTIONS, REPORT_TABLE_INTRO
from followup.simulation.ooxml import XML_SPACE, norm, parse_xml, rezip, serialise

__all__ = [
    "REPORT_ERRORS",
    "ReportDoc",
    "break_report",
    "count_text",
    "default_narrative",
    "fill_periodic_report",
    "plausible_report_values",
]


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _w_text(element: Any) -> str:
    return "".join(t.text or "" for t in element.iter(f"{{{_W}}}t"))


def _w_set_text(paragraph: Any, text: str) -> None:
    """Replace a paragraph's runs by one plain run (keeps its paragraph properties)."""
    for child in list(paragraph):
        if child.tag != f"{{{_W}}}pPr":
            paragraph.remove(child)
    if text:
        t = etree.SubElement(etree.SubElement(paragraph, f"{{{_W}}}r"), f"{{{_W}}}t")
        t.text = text
        if text != text.strip():
            t.set(XML_SPACE, "preserve")


_PLACEHOLDER_OF = {norm(placeholder): key for key, _, placeholder in REPORT_SECTIONS}


class ReportDoc:
    """The report form's document part: indicator cells by code, narrative placeholders by section."""

    def __init__(self, data: bytes):
        self.data = data
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            self.root = parse_xml(zf.read("word/document.xml"))
        body = self.root.find(f"{{{_W}}}body")
        self.cells: dict[str, Any] = {}
        self.row_of: dict[str, int] = {}
        for table in body.iter(f"{{{_W}}}tbl"):
            rows = table.findall(f"{{{_W}}}tr")
            if not rows:
                continue
            titles = [norm(_w_text(tc)) for tc in rows[0].findall(f"{{{_W}}}tc")]
            if "mã" in titles and "số liệu" in titles:
                code_at, value_at = titles.index("mã"), titles.index("số liệu")
                for number, tr in enumerate(rows[1:], start=2):
                    tcs = tr.findall(f"{{{_W}}}tc")
                    if max(code_at, value_at) < len(tcs):
                        code = _w_text(tcs[code_at]).strip()
                        if code:
                            self.cells[code] = tcs[value_at]
                            self.row_of[code] = number
                break
        if not self.cells:
            raise ValueError("no indicator table in this report (columns Số liệu and Mã)")
        self.sections: dict[str, Any] = {}
        for p in body.findall(f"{{{_W}}}p"):
            key = _PLACEHOLDER_OF.get(norm(_w_text(p)))
            if key and key not in self.sections:
                self.sections[key] = p

    @property
    def codes(self) -> list[str]:
        return list(self.cells)

    def get(self, code: str) -> str:
        return _w_text(self.cells[code]).strip()

    def set(self, code: str, text: str) -> None:
        tc = self.cells.get(code)
        if tc is None:
            return
        paragraphs = tc.findall(f"{{{_W}}}p")
        for extra in paragraphs[1:]:
            tc.remove(extra)
        if not paragraphs:
            paragraphs = [etree.SubElement(tc, f"{{{_W}}}p")]
        _w_set_text(paragraphs[0], text)

    def write_section(self, key: str, text: str) -> None:
        """The section's text instead of its placeholder, one paragraph a line; "" removes the placeholder."""
        p = self.sections.get(key)
        if p is None:
            return
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            p.getparent().remove(p)
            del self.sections[key]
            return
        _w_set_text(p, lines[0])
        anchor = p
        for line in lines[1:]:
            new = etree.Element(f"{{{_W}}}p")
            ppr = p.find(f"{{{_W}}}pPr")
            if ppr is not None:
                new.append(copy.deepcopy(ppr))
            _w_set_text(new, line)
            anchor.addnext(new)
            anchor = new

    def reset_section(self, key: str) -> None:
        """Put the form's placeholder back as the only text of a section."""
        heading_text = next(norm(heading) for k, heading, _ in REPORT_SECTIONS if k == key)
        placeholder = next(text for k, _, text in REPORT_SECTIONS if k == key)
        stops = {norm(h) for _, h, _ in REPORT_SECTIONS} | {norm(REPORT_TABLE_INTRO)}
        body = self.root.find(f"{{{_W}}}body")
        heading = next((p for p in body.findall(f"{{{_W}}}p") if norm(_w_text(p)) == heading_text), None)
        if heading is None:
            raise ValueError(f"no heading for section {key} in this report")
        node = heading.getnext()
        while node is not None and node.tag == f"{{{_W}}}p" and norm(_w_text(node)) not in stops:
            following = node.getnext()
            if _w_text(node).strip():
                body.remove(node)
            node = following
        p = etree.Element(f"{{{_W}}}p")
        heading.addnext(p)
        _w_set_text(p, placeholder)
        self.sections[key] = p

    def save(self) -> bytes:
        return rezip(self.data, {"word/document.xml": serialise(self.root)})


def count_text(code: str, value: int) -> str:
    # Money the way Vietnamese officers write it (dots group thousands); counts as plain digits.
    return f"{value:,}".replace(",", ".") if code == "kinh_phi" or value >= 10_000 else str(value)


_NARRATIVE: dict[str, tuple[str, ...]] = {
    "ket_qua": (
        "Ủy ban nhân dân đã ban hành kế hoạch triển khai công tác bảo vệ, chăm sóc trẻ em năm 2023; kiện toàn Ban "
        "chỉ đạo và nhóm thường trực bảo vệ trẻ em cấp xã; phân công cộng tác viên trẻ em ở các thôn, bản.\n"
        "Tổ chức {buoi} buổi tuyên truyền về phòng ngừa xâm hại trẻ em, phòng, chống tai nạn thương tích, đuối "
        "nước trẻ em; phổ biến Tổng đài điện thoại quốc gia bảo vệ trẻ em 111.\n"
        "Rà soát, cập nhật danh sách trẻ em có hoàn cảnh đặc biệt; {tro_giup} trẻ được trợ giúp kịp thời.",
        "Đơn vị đã lồng ghép nhiệm vụ thực hiện quyền trẻ em vào kế hoạch công tác năm; chỉ đạo các thôn, bản "
        "rà soát khu vực có nguy cơ đuối nước, cắm biển cảnh báo tại ao, hồ, sông, suối.\n"
        "Tổ chức {buoi} buổi truyền thông cho cha mẹ và trẻ em; phối hợp với trường học tuyên truyền kỹ năng "
        "phòng tránh xâm hại.\n"
        "Cập nhật thông tin trẻ em vào cơ sở dữ liệu trẻ em tại địa phương.",
    ),
    "kho_khan": (
        "Địa bàn rộng, dân cư phân tán, nhiều thôn, bản xa trung tâm nên việc nắm bắt thông tin còn chậm.\n"
        "Người làm công tác trẻ em cấp xã kiêm nhiệm nhiều việc; kinh phí cho hoạt động trẻ em còn hạn chế.",
        "Một số cha mẹ đi làm ăn xa, trẻ em ở với ông bà nên việc chăm sóc, giám sát trẻ còn hạn chế.",
    ),
    "de_xuat": (
        "Đề nghị Ủy ban nhân dân huyện quan tâm bố trí kinh phí tập huấn cho cộng tác viên trẻ em thôn, bản.",
        "Đề nghị Phòng Lao động - Thương binh và Xã hội huyện tiếp tục hướng dẫn nghiệp vụ cập nhật cơ sở dữ "
        "liệu trẻ em.",
    ),
}


def default_narrative(seed: int | str = 0, values: Mapping[str, int] | None = None) -> dict[str, str]:
    """Plausible text for the three sections (no child is named: reports carry counts only)."""
    rng = random.Random(f"narrative:{seed}")
    values = values or {}
    fill = {"buoi": values.get("buoi_tuyen_truyen", 4), "tro_giup": values.get("tre_em_hcdb_duoc_tro_giup", 0)}
    return {key: rng.choice(texts).format(**fill) for key, texts in _NARRATIVE.items()}


def fill_periodic_report(
    form: bytes, values: Mapping[str, int], narrative: Mapping[str, str] | None = None, *, seed: int | str = 0
) -> bytes:
    """The received .docx with the indicator values written by code and the section placeholders replaced.

    Codes absent from ``values`` are left blank. ``narrative`` maps section key (ket_qua, kho_khan, de_xuat) to
    text, one paragraph a line; a section it omits gets default text, "" removes the placeholder line.
    """
    doc = ReportDoc(form)
    for code, value in values.items():
        doc.set(code, count_text(code, value))
    texts = default_narrative(seed, values)
    texts.update(narrative or {})
    for key, text in texts.items():
        doc.write_section(key, text)
    return doc.save()


_RULE_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}


def plausible_report_values(
    seed: int | str = 0, children_count: int = 10, requirement: Requirement | None = None
) -> dict[str, int]:
    """Indicator values of a commune that keep the directive's rules (HCĐB helped <= HCĐB <= all children,
    drowned <= injured). With ``requirement``, exactly its indicators, and its rules enforced."""
    rng = random.Random(f"report:{seed}")
    special = max(0, round(children_count * rng.uniform(0.55, 0.95)))
    injured = rng.choice((0, 0, 1, 1, 2, 3, 4, 6))
    values = {
        "tong_so_tre_em": rng.randint(max(400, children_count * 25), 3200),
        "tre_em_hcdb": special,
        "tre_em_hcdb_duoc_tro_giup": special - rng.randint(0, special // 4),
        "tre_em_hckk": children_count - special + rng.randint(5, 80),
        "vu_xam_hai": rng.choice((0, 0, 0, 0, 1, 2)),
        "tre_em_tai_nan": injured,
        "tre_em_duoi_nuoc": rng.randint(0, min(injured, 2)),
        "buoi_tuyen_truyen": rng.randint(2, 14),
        "kinh_phi": rng.randint(10, 120) * 500_000,
    }
    if requirement is None:
        return values
    values = {ind.code: values.get(ind.code, rng.randint(0, 20)) for ind in requirement.indicators}
    for _ in range(len(requirement.rules) + 1):
        for rule in requirement.rules:
            left, right = values.get(rule.left), values.get(rule.right)
            if left is None or right is None or _RULE_OPS[rule.op](left, right):
                continue
            if rule.op == ">":
                values[rule.left] = right + 1
            elif rule.op == "<":
                if right == 0:
                    values[rule.right] = right = 1
                values[rule.left] = right - 1
            else:  # <=, >=, ==
                values[rule.left] = right
    return values


#: Ways a report comes back wrong -> what the reader says (all errors but "placeholder", a warning).
REPORT_ERRORS: dict[str, str] = {
    "negative": "a negative count",
    "blank": "a value left empty",
    "not-a-number": "words instead of a number",
    "decimal": "a decimal number",
    "rule": "a rule broken (more children helped than in special circumstances)",
    "placeholder": "the guidance line of section I left in place (warning)",
}


def break_report(
    form: bytes,
    kind: str,
    *,
    code: str | None = None,
    rule: tuple[str, str] = ("tre_em_hcdb_duoc_tro_giup", "tre_em_hcdb"),
) -> bytes:
    """A filled report with one realistic mistake (a blank form is filled with plausible values first).

    The value kinds change ``code`` (default the first indicator); "rule" makes rule[0] exceed rule[1].
    """
    if kind not in REPORT_ERRORS:
        raise ValueError(f"unknown report error {kind!r}; one of {', '.join(REPORT_ERRORS)}")
    doc = ReportDoc(form)
    if not any(doc.get(c) for c in doc.codes):
        values = plausible_report_values(f"break:{kind}")
        for c in doc.codes:
            doc.set(c, count_text(c, values.get(c, 3)))
    target = code or doc.codes[0]
    if kind == "negative":
        doc.set(target, "-3")
    elif kind == "blank":
        doc.set(target, "")
    elif kind == "not-a-number":
        doc.set(target, "khoảng mười")
    elif kind == "decimal":
        doc.set(target, "2,5")
    elif kind == "rule":
        left, right = rule
        digits = re.sub(r"\D", "", doc.get(right)) or "0"
        doc.set(left, str(int(digits) + 2))
    else:  # placeholder: the unit filled the figures but left section I as the form had it
        doc.reset_section("ket_qua")
    return doc.save()
