"""The Law on Children 2016, art. 10.1: the 14 groups of children in special circumstances.

Printed in the form's drop-down and guide, counted in the report; how a unit's cell is read back is
``followup.forms.special_groups``.
"""

from __future__ import annotations

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
