"""The leadership summary's chart (PNG): how many units are in each reporting state, and the main indicators.

matplotlib is imported here only, with the Agg backend (no display): nothing else of the product pays its
import time.
"""

from __future__ import annotations

import io

from followup.domain.compilation import Compilation, vn_number

STATES = (("on_time", "Đúng hạn", "#2e7d32"), ("late", "Trễ hạn", "#f9a825"), ("rejected", "Chưa đạt", "#c62828"),
          ("pending", "Chờ xem xét", "#6a1b9a"), ("missing", "Chưa gửi", "#9e9e9e"))  # fmt: skip
MONEY = ("đồng",)  # an indicator in money dwarfs the counts: it is left out of the bars and named in the title


def chart_png(c: Compilation, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.2), dpi=100, gridspec_kw={"width_ratios": [1, 1.35]})
    try:
        labels = [k.title if len(k.title) < 40 else k.title[:38] + "…" for k in c.completeness]
        counts = {key: [getattr(k, key) for k in c.completeness] for key, _, _ in STATES}
        base = [0] * len(c.completeness)
        for key, word, colour in STATES:
            left.barh(labels, counts[key], left=base, color=colour, label=word)
            base = [b + n for b, n in zip(base, counts[key], strict=True)]
        left.invert_yaxis()
        left.set_xlabel("Số cơ quan, đơn vị")
        left.set_title("Tình hình gửi báo cáo")
        left.legend(loc="lower right", fontsize=8)
        for y, k in enumerate(c.completeness):
            left.text(k.expected, y, f" {k.accepted}/{k.expected}", va="center", fontsize=9)
        left.set_xlim(0, max([k.expected for k in c.completeness] + [1]) * 1.2)

        shown = [i for i in c.indicators if i.unit not in MONEY]
        names = [(i.label if len(i.label) < 45 else i.label[:43] + "…") + (" *" if i.partial else "") for i in shown]
        right.barh(names, [i.total for i in shown], color="#1565c0")
        right.invert_yaxis()
        right.tick_params(axis="y", labelsize=8)
        for y, i in enumerate(shown):
            right.text(i.total, y, f" {vn_number(i.total)}", va="center", fontsize=8)
        right.set_xscale("symlog", linthresh=10)  # a district's children and a commune's incidents on one axis
        right.set_xlim(0, max([i.total for i in shown] + [10]) * 3)
        right.set_title("Chỉ tiêu chính (thang logarit)", fontsize=11)
        money = [i for i in c.indicators if i.unit in MONEY]
        if money:
            fig.text(0.99, 0.01, "; ".join(f"{i.label}: {vn_number(i.total)} {i.unit}" for i in money),
                     ha="right", va="bottom", fontsize=9)  # fmt: skip
        fig.suptitle(title + (" (* số liệu chưa đầy đủ)" if c.partial else ""), fontsize=11)
        fig.tight_layout(rect=(0, 0.04, 1, 1))  # room for the line of money under the bars
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()
    finally:
        plt.close(fig)
