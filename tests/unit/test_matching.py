"""Matching a reply to unit, requirement and period: strongest evidence first, conflicts go to triage."""

from __future__ import annotations

import datetime as dt

from followup.domain.identity import FormIdentity
from followup.domain.matching import Known, Match, NoMatch, match, message_evidence
from followup.mail.parse import Envelope

KNOWN = Known(
    sent={"<d.1.XA-CAOSON.1@bachthong.example>": ("2023-child-protection", "XA-CAOSON")},
    addresses={"ubnd@caoson.bachthong.example": "XA-CAOSON", "ubnd@vumuon.bachthong.example": "XA-VUMUON"},
    own_addresses=frozenset({"vanthu@bachthong.example"}),
)
FORM = FormIdentity("2023-child-protection", "danh-sach-tre-em", "2023", "XA-CAOSON")


def env(frm: str | None, subject: str = "Re: báo cáo", refs: tuple[str, ...] = ()) -> Envelope:
    return Envelope("<reply@x.example>", frm, subject, dt.datetime(2023, 2, 10, tzinfo=dt.UTC), refs)


def test_form_identity_decides_requirement_and_period():
    found = match(FORM, message_evidence([env("ubnd@caoson.bachthong.example")], KNOWN))
    assert isinstance(found, Match)
    assert (found.directive, found.requirement, found.period, found.unit) == (
        "2023-child-protection",
        "danh-sach-tre-em",
        "2023",
        "XA-CAOSON",
    )
    assert found.evidence[0].startswith("form:") and any(e.startswith("sender:") for e in found.evidence)


def test_sender_of_one_unit_with_the_form_of_another_goes_to_triage():
    found = match(FORM, message_evidence([env("ubnd@vumuon.bachthong.example")], KNOWN))
    assert isinstance(found, NoMatch)
    assert "conflicting units" in found.reason and "form says XA-CAOSON" in found.reason
    assert "sender says XA-VUMUON" in found.reason


def test_thread_and_tag_identify_a_unit_writing_from_an_unregistered_address():
    evidence = message_evidence(
        [
            env(
                "canbo.caoson@gmail.example",
                "Re: [FU:2023-child-protection:XA-CAOSON] Công văn",
                ("<d.1.XA-CAOSON.1@bachthong.example>",),
            )
        ],
        KNOWN,
    )
    assert [e.source for e in evidence] == ["thread", "tag"]
    assert isinstance(match(FORM, evidence), Match)


def test_forwarded_by_the_clerk_counts_the_inner_sender_not_the_clerk():
    outer = env("vanthu@bachthong.example", "Fwd: báo cáo")
    inner = env("ubnd@caoson.bachthong.example")
    evidence = message_evidence([outer, inner], KNOWN)
    assert [(e.source, e.unit) for e in evidence] == [("sender", "XA-CAOSON")]


def test_no_identity_infers_only_a_single_open_requirement():
    evidence = message_evidence([env("ubnd@caoson.bachthong.example")], KNOWN)
    one = {"XA-CAOSON": [("2023-child-protection", "danh-sach-tre-em", "2023")]}
    found = match(None, evidence, one)
    assert isinstance(found, Match) and found.evidence[-1].startswith("inferred:")
    two = {
        "XA-CAOSON": [
            ("2023-child-protection", "bao-cao-6-thang", "2023-H1"),
            ("2023-child-protection", "bao-cao-nam", "2023"),
        ]
    }
    found = match(None, evidence, two)
    assert isinstance(found, NoMatch) and "owes 2 forms of this kind" in found.reason and found.unit == "XA-CAOSON"


def test_unknown_sender_without_identity_is_not_guessed():
    found = match(None, message_evidence([env("someone@else.example")], KNOWN), {})
    assert isinstance(found, NoMatch) and found.unit is None and "no evidence of the unit" in found.reason
