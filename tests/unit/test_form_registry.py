"""The registry of form kinds, typed summaries of a read reply, and the cross-checks a directive declares."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from followup.domain.config import Config, CrossCheck, Requirement
from followup.domain.identity import FormIdentity
from followup.domain.summaries import ListSummary, ReportSummary, summary_from_json
from followup.forms.identity import read_identity
from followup.forms.registry import KINDS, form_filename, kind_for_extension, kind_named, kind_of
from followup.forms.review import Verdict, cross_check

# --------------------------------------------------------------------------- registry


def test_every_requirement_of_the_seed_has_a_registered_kind(config: Config) -> None:
    requirements = [r for d in config.directives.values() for r in d.requirements]
    assert requirements
    for requirement in requirements:
        kind = kind_of(requirement)
        assert kind.name == requirement.form and kind is kind_named(requirement.form)
        assert form_filename(requirement, "Xã A").endswith(f" - Xã A.{kind.ext}")


def test_kinds_by_name_and_extension() -> None:
    assert list(KINDS) == ["children-list", "periodic-report"]
    assert kind_for_extension("xlsx") is KINDS["children-list"]
    assert kind_for_extension(".DOCX") is KINDS["periodic-report"]
    assert kind_for_extension("pdf") is None
    with pytest.raises(KeyError):
        kind_named("minutes")


def test_a_kind_builds_a_form_it_reviews(children_req: Requirement, report_req: Requirement) -> None:
    for requirement in (children_req, report_req):
        kind = kind_of(requirement)
        identity = FormIdentity("2023-child-protection", requirement.code, "2023", "XA-CAOSON")
        data = kind.build(identity, "Ủy ban nhân dân xã Cao Sơn", requirement, "năm 2023", "chậm nhất ngày 20/02/2023")
        assert read_identity(data, f"form.{kind.ext}") == identity
        verdict = kind.review(requirement, data, f"form.{kind.ext}", dt.date(2023, 2, 20))
        assert isinstance(verdict.summary, ListSummary if kind.counts else ReportSummary)


# --------------------------------------------------------------------------- summaries


def test_summaries_round_trip_through_json() -> None:
    listed = ListSummary(rows=5, special=3, difficult=2, by_group={"a": 1, "đ": 2})
    report = ReportSummary({"tong_so_tre_em": 1200, "kinh_phi": None}, {"ket_qua": "Đã tuyên truyền.", "de_xuat": ""})
    for summary in (listed, report):
        assert summary_from_json(json.loads(json.dumps(summary.to_json(), ensure_ascii=False))) == summary
    assert set(listed.to_json()) == {"rows", "special", "difficult", "by_group"}  # the shape the store has kept


def test_summaries_as_stored_before_read_back() -> None:
    assert summary_from_json({"rows": 4, "special": 1, "difficult": 3, "by_group": {"d": 1}}) == ListSummary(
        4, 1, 3, {"d": 1}
    )
    assert summary_from_json({"values": {"tre_em_hcdb": 7}}) == ReportSummary({"tre_em_hcdb": 7}, {})
    assert summary_from_json({}) is None


def test_acknowledgement_lines() -> None:
    assert ListSummary(5, 3, 2).answer_lines() == [
        "Đã đọc 5 dòng: 3 trẻ em có hoàn cảnh đặc biệt, 2 trẻ em có hoàn cảnh khó khăn."
    ]
    assert ReportSummary({"a": 1, "b": None, "c": 0}).answer_lines() == ["Đã đọc 2/3 chỉ tiêu số liệu."]


def test_a_report_narrative_stays_out_of_the_counts_the_store_shows() -> None:
    report = ReportSummary({"tre_em_hcdb": 7}, {"ket_qua": "Hỗ trợ cháu A."})
    summary, content = Verdict.decide([], report).stored()
    assert summary == {"values": {"tre_em_hcdb": 7}}
    assert content == {"values": {"tre_em_hcdb": 7}, "narrative": {"ket_qua": "Hỗ trợ cháu A."}}
    listed = ListSummary(5, 3, 2, {"a": 3})
    assert Verdict.decide([], listed).stored() == (listed.to_json(), {})


# --------------------------------------------------------------------------- declared cross-check


def test_the_seed_declares_the_list_against_report_check(report_req: Requirement) -> None:
    (check,) = report_req.cross_checks
    assert (check.indicator, check.equals, check.of) == ("tre_em_hcdb", "special", "danh-sach-tre-em")


def test_cross_check_warns_when_the_counts_differ(report_req: Requirement) -> None:
    report = ReportSummary({"tre_em_hcdb": 7})
    (problem,) = cross_check(report_req, report, {"danh-sach-tre-em": ListSummary(10, 5, 6)})
    assert problem.severity == "warning" and problem.field == "tre_em_hcdb"
    assert problem.message_vi == (
        "Báo cáo ghi 7 trẻ em có hoàn cảnh đặc biệt, nhưng danh sách đã gửi có 5 trẻ thuộc nhóm hoàn cảnh đặc biệt. "
        "Vui lòng kiểm tra lại số liệu hoặc danh sách."
    )


def test_cross_check_is_silent_when_equal_or_missing(report_req: Requirement) -> None:
    lists = {"danh-sach-tre-em": ListSummary(10, 7, 6)}
    assert cross_check(report_req, ReportSummary({"tre_em_hcdb": 7}), lists) == []
    assert cross_check(report_req, ReportSummary({"tre_em_hcdb": None}), lists) == []
    assert cross_check(report_req, ReportSummary({}), lists) == []
    assert cross_check(report_req, ReportSummary({"tre_em_hcdb": 3}), {}) == []


def test_cross_check_default_message_names_the_indicator(report_req: Requirement) -> None:
    check = CrossCheck(indicator="tre_em_hckk", equals="difficult", of="danh-sach-tre-em")
    requirement = report_req.model_copy(update={"cross_checks": [check]})
    (problem,) = cross_check(requirement, ReportSummary({"tre_em_hckk": 2}), {"danh-sach-tre-em": ListSummary(9, 0, 4)})
    assert problem.message_vi.startswith("Số trẻ em có hoàn cảnh khó khăn: báo cáo ghi 2, nhưng danh sách đã gửi có 4.")
