"""Reading back the group of a child in special circumstances from whatever a unit wrote in the column."""

from __future__ import annotations

import re
from typing import Any

from followup.domain.special_groups import SPECIAL_GROUPS
from followup.forms.cells import BadValue, clean

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
