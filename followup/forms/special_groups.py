"""The Law on Children 2016, art. 10.1: the 14 groups of children in special circumstances.

Printed in the form's drop-down and guide, and read back from whatever a unit wrote in the column.
"""

from __future__ import annotations

import re
from typing import Any

from followup.forms.cells import BadValue, clean

#: Law on Children 2016, art. 10.1: the 14 groups of children in special circumstances (letters skip f, j).
SPECIAL_GROUPS: dict[str, str] = {
    "a": "Mồ côi cả cha và mẹ",
    "b": "Bị bỏ rơi",
    "c": "Không nơi nương tựa",
    "d": "Khuyết tật",
    "đ": "Nhiễm HIV/AIDS",
    "e": "Vi phạm pháp luật",
    "g": "Nghiện ma túy",
    "h": "Phải bỏ học kiếm sống chưa hoàn thành phổ cập giáo dục trung học cơ sở",
    "i": "Bị tổn hại nghiêm trọng về thể chất và tinh thần do bị bạo lực",
    "k": "Bị bóc lột",
    "l": "Bị xâm hại tình dục",
    "m": "Bị mua bán",
    "n": "Mắc bệnh hiểm nghèo hoặc bệnh phải điều trị dài ngày thuộc hộ nghèo hoặc hộ cận nghèo",
    "o": "Di cư, lánh nạn, tị nạn chưa xác định được cha mẹ hoặc không có người chăm sóc",
}


def group_choice(letter: str) -> str:
    """The drop-down text for a group, e.g. "a) Mồ côi cả cha và mẹ"."""
    return f"{letter}) {SPECIAL_GROUPS[letter]}"


_GROUP_LETTERS = "".join(SPECIAL_GROUPS)
_LETTER_TOKEN = re.compile(r"(?<!\w)(?:nhóm\s*)?([a-zđ])(?!\w)")
_GROUP_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("a", ("mồ côi",)),
    ("b", ("bỏ rơi",)),
    ("c", ("không nơi nương tựa", "nương tựa")),
    ("d", ("khuyết tật",)),
    ("đ", ("hiv", "aids")),
    ("e", ("vi phạm pháp luật",)),
    ("g", ("ma túy", "ma tuý", "nghiện")),
    ("h", ("bỏ học",)),
    ("i", ("bạo lực",)),
    ("k", ("bóc lột",)),
    ("l", ("xâm hại tình dục",)),
    ("m", ("mua bán",)),
    ("n", ("bệnh hiểm nghèo", "điều trị dài ngày")),
    ("o", ("di cư", "lánh nạn", "tị nạn")),
)


def parse_groups(value: Any) -> tuple[str, ...]:
    """Group letters from "d", "D)", "nhóm d", "d) Khuyết tật", "d, n" or a label; BadValue if unknown."""
    text = clean(value).lower()
    if not text:
        return ()
    letters = _LETTER_TOKEN.findall(text)
    if not letters:
        letters = [letter for letter, words in _GROUP_KEYWORDS if any(w in text for w in words)]
        if not letters:
            raise BadValue(
                "Không nhận ra nhóm hoàn cảnh đặc biệt. Chọn trong danh sách hoặc ghi chữ cái của nhóm "
                f"({', '.join(_GROUP_LETTERS)}), ví dụ: d."
            )
    bad = [letter for letter in letters if letter not in SPECIAL_GROUPS]
    if bad:
        raise BadValue(
            "Nhóm hoàn cảnh đặc biệt không hợp lệ: chỉ có 14 nhóm a, b, c, d, đ, e, g, h, i, k, l, m, n, o "
            "(không có f, j và các chữ khác). Chọn lại trong danh sách."
        )
    ordered = sorted(set(letters), key=_GROUP_LETTERS.index)
    return tuple(ordered)
