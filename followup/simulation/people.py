"""Synthetic children: the made-up rows a commune's children list is filled with.

A list of its own because the forms, the tests and the benchmarks all need plausible children (names of the
ethnic groups of Bắc Kạn, villages, the 14 groups, support) and none of them may carry a real child's data.
Seeded, so the same seed gives the same children.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

__all__ = ["SyntheticChild", "birthday", "synthetic_children"]


@dataclass(frozen=True)
class SyntheticChild:
    """A made-up child, as one row of the list. ``groups`` are letters of the 14 groups (may be empty)."""

    name: str
    birth_date: dt.date
    sex: str  # "Nam" / "Nữ"
    ethnicity: str
    village: str
    carer: str
    groups: tuple[str, ...]
    difficult: bool
    support: str | None = None
    note: str | None = None


# Family names by ethnicity, most frequent first (Bắc Kạn: mostly Tày, then Nùng, Dao, Kinh, H'Mông).
_FAMILIES: dict[str, tuple[str, ...]] = {
    "Tày": ("Hoàng", "Nông", "Ma", "Hà", "Lường", "Lục", "Đàm", "Bế", "Triệu", "Lý", "Dương", "Vi", "Sầm"),
    "Nùng": ("Hoàng", "Nông", "Lý", "Lục", "Vi", "Lương", "Chu", "Mông"),
    "Dao": ("Triệu", "Bàn", "Đặng", "Lý", "Phùng", "Chu"),
    "Kinh": ("Nguyễn", "Trần", "Phạm", "Lê", "Hoàng", "Vũ", "Đỗ", "Hà"),
    "H'Mông": ("Giàng", "Sùng", "Vàng", "Lý", "Hầu", "Thào"),
}
_ETHNICITY_WEIGHTS: dict[str, int] = {"Tày": 50, "Nùng": 14, "Dao": 14, "Kinh": 14, "H'Mông": 8}
_MIDDLE = {
    "Nam": ("Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Tiến"),
    "Nữ": ("Thị", "Thị", "Thu", "Ngọc", "Thanh", "Hồng", "Kim"),
}
_MIDDLE_HMONG = {"Nam": ("A", "Seo", "Văn"), "Nữ": ("Thị", "Thị")}
_GIVEN = {
    "Nam": (
        "Anh", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Khánh", "Long", "Nam", "Phúc",
        "Quân", "Sơn", "Thắng", "Tuấn", "Việt", "Vinh", "Bảo", "Huy", "Lâm", "Toàn",
    ),
    "Nữ": (
        "An", "Chi", "Diệp", "Hà", "Hằng", "Hoa", "Huyền", "Lan", "Linh", "Mai", "My", "Ngân",
        "Nhung", "Phương", "Thảo", "Trang", "Vân", "Yến", "Nhi", "Quỳnh", "Hiền", "Tuyết",
    ),
}  # fmt: skip
_GIVEN_HMONG = {"Nam": ("Páo", "Chứ", "Sử", "Dính", "Pó", "Lử"), "Nữ": ("Mỷ", "Sua", "Dợ", "Chá", "Mai", "Pà")}
_VILLAGES = (
    "Thôn Nà Pài", "Bản Khét", "Thôn Nà Lẹng", "Thôn Khuổi Chủ", "Bản Cạu", "Thôn Nà Thác", "Thôn Pác Cộp",
    "Thôn Khuổi Dủm", "Bản Phiêng Lót", "Thôn Nà Mố", "Thôn Bản Đồn", "Thôn Nà Cà", "Thôn Còi Táng",
    "Bản Pjạc", "Tổ 3", "Tổ 5", "Thôn Nà Cọ", "Thôn Khau Cưởm",
)  # fmt: skip
# Group letters weighted by how often communes list them (disability and orphans lead; trafficking is rare).
_GROUP_WEIGHTS: dict[str, int] = {
    "a": 12, "b": 2, "c": 6, "d": 30, "đ": 2, "e": 2, "g": 1, "h": 8, "i": 3, "k": 1, "l": 2, "m": 1, "n": 14,
    "o": 1,
}  # fmt: skip
_SUPPORT: dict[str, tuple[str, ...]] = {
    "a": ("Trợ cấp xã hội hằng tháng 540.000 đồng", "Trợ cấp xã hội hằng tháng 900.000 đồng"),
    "b": ("Nuôi dưỡng tại cơ sở bảo trợ xã hội", "Trợ cấp nuôi dưỡng 900.000 đồng/tháng"),
    "c": ("Trợ cấp xã hội hằng tháng 540.000 đồng",),
    "d": ("Trợ cấp khuyết tật 720.000 đồng/tháng", "Trợ cấp khuyết tật 900.000 đồng/tháng", "Cấp xe lăn"),
    "đ": ("Thẻ bảo hiểm y tế; điều trị ARV miễn phí",),
    "n": ("Thẻ bảo hiểm y tế", "Hỗ trợ chi phí điều trị 2.000.000 đồng"),
    "h": ("Miễn học phí; hỗ trợ sách vở",),
}
_SUPPORT_GENERAL = ("Hỗ trợ đồ ấm mùa đông", "Thẻ bảo hiểm y tế", "Hỗ trợ gạo, sách vở", "Quà Tết 500.000 đồng")
_NOTES = (
    "Đang học lớp {grade}",
    "Hộ nghèo",
    "Hộ cận nghèo",
    "Bố mẹ đi làm ăn xa",
    "Đang điều trị tại Bệnh viện Nhi Trung ương",
    "Gia đình đã được tư vấn",
)


def _ethnicity(rng: random.Random) -> str:
    return rng.choices(list(_ETHNICITY_WEIGHTS), weights=list(_ETHNICITY_WEIGHTS.values()))[0]


def _person(rng: random.Random, family: str, sex: str, ethnicity: str) -> str:
    hmong = ethnicity == "H'Mông"
    middle = rng.choice((_MIDDLE_HMONG if hmong else _MIDDLE)[sex])
    given = rng.choice((_GIVEN_HMONG if hmong else _GIVEN)[sex])
    return f"{family} {middle} {given}"


def birthday(birth: dt.date, years: int) -> dt.date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 February
        return dt.date(birth.year + years, 3, 1)


def synthetic_children(n: int, seed: int | str = 0, as_of: dt.date | None = None) -> list[SyntheticChild]:
    """``n`` plausible children of a commune of Bắc Kạn, aged 0-15 on ``as_of``; same seed, same children.

    Every child is in at least one of the 14 groups or in difficult circumstances (else the list would not
    name them), and no two share name and birth date.
    """
    as_of = as_of or dt.date(2023, 2, 20)
    rng = random.Random(f"children:{seed}")
    letters = list(_GROUP_WEIGHTS)
    weights = list(_GROUP_WEIGHTS.values())
    seen: set[tuple[str, dt.date]] = set()
    children: list[SyntheticChild] = []
    while len(children) < n:
        ethnicity = _ethnicity(rng)
        family = rng.choice(_FAMILIES[ethnicity])
        sex = rng.choice(("Nam", "Nữ"))
        name = _person(rng, family, sex, ethnicity)
        oldest = birthday(as_of, -16) + dt.timedelta(days=1)  # turns 16 after as_of
        birth = oldest + dt.timedelta(days=rng.randrange((as_of - oldest).days + 1))
        if (name, birth) in seen:
            continue
        seen.add((name, birth))
        roll = rng.random()
        if roll < 0.3:
            groups: tuple[str, ...] = ()
        elif roll < 0.9:
            groups = (rng.choices(letters, weights)[0],)
        else:
            groups = tuple(sorted(set(rng.choices(letters, weights, k=2)), key=letters.index))
        difficult = True if not groups else rng.random() < 0.65
        if "a" in groups or "c" in groups:
            relation = rng.choice(("ông nội", "bà nội", "ông ngoại", "bà ngoại", "bác ruột", "chú ruột"))
            carer_sex = "Nữ" if relation.startswith("bà") else "Nam"
        else:
            relation = rng.choice(("bố", "mẹ", "mẹ"))
            carer_sex = "Nam" if relation == "bố" else "Nữ"
        carer_family = family if carer_sex == "Nam" else rng.choice(_FAMILIES[ethnicity])
        carer = f"{_person(rng, carer_family, carer_sex, ethnicity)} ({relation})"
        if "b" in groups and rng.random() < 0.5:
            carer = "Cơ sở bảo trợ xã hội tỉnh Bắc Kạn"
        offers = [s for g in groups for s in _SUPPORT.get(g, ())]
        support = rng.choice(offers) if offers and rng.random() < 0.85 else None
        if support is None and rng.random() < 0.4:
            support = rng.choice(_SUPPORT_GENERAL)
        note = None
        if rng.random() < 0.35:
            age = as_of.year - birth.year
            note = rng.choice(_NOTES).format(grade=min(max(age - 5, 1), 9))
        village = rng.choice(_VILLAGES)
        children.append(SyntheticChild(name, birth, sex, ethnicity, village, carer, groups, difficult, support, note))
    return children
