# ruff: noqa: F811 - the fixtures imported from test_collect are parameters of the tests below
"""A corpus of replies shaped as mail clients and communes really send them, through the real collect path (a
pymap IMAP server, the answers through aiosmtpd): each form is known by what it is, whatever its name, label,
disposition or archive, and accepted for the right unit and requirement; what is no form waits in triage with a
reason the clerk can act on. Fixtures and helpers come from test_collect (one dispatch per module)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its fixtures and helpers live beside it
from test_collect import (  # noqa: E402, F401 - dispatched and env are fixtures
    CLERK,
    H1,
    LIST,
    STRANGER,
    Env,
    at,
    children,
    dispatched,
    env,
    lf,
    libreoffice,
    message_id,
    needs_libreoffice,
    plain,
    submissions,
)

from followup import simulation as simulate  # noqa: E402
from followup.simulation import Attached, archive  # noqa: E402
from followup.storage.models import IncomingMessage  # noqa: E402

MiB = 1024 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCAN = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n" + bytes(range(256)) * 40
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40
LOGO = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
MAC_JUNK = [("__MACOSX/Ho so/._Danh sach.xlsx", b"\0\5\26\7" + bytes(80)), ("Ho so/.DS_Store", b"\0\0\0\1Bud1")]
NOT_A_FORM = "no machine-readable form (.xlsx/.docx) in this file"
Z = " › "  # how a file found in an archive is named: after the archive


def test_every_shape_is_known_by_its_content_and_placed_or_left_for_the_clerk_with_the_reason(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no LibreOffice: nothing below is in an old format, whatever its name says
    monkeypatch.setattr("followup.documents.libreoffice.shutil.which", lambda *args, **kwargs: None)
    lists = {
        u.code: env.filled_list(u.code, children(3, u.code)) for u in env.config.recipients.units_in(["xa-thi-tran"])
    }

    def report(unit: str) -> tuple[str, bytes]:
        name, blank = env.sent.form(unit, H1)
        requirement = env.config.directive("2023-child-protection").requirement(H1)
        return name, simulate.fill_periodic_report(blank, simulate.plausible_report_values(3, requirement=requirement))

    def data(unit: str) -> bytes:
        return lists[unit][1]

    def name(unit: str) -> str:
        return lists[unit][0]

    mythanh_report = report("XA-MYTHANH")
    vumuon_report = report("XA-VUMUON")
    nested = archive([("Danh sach.zip", archive([(name("XA-QUANHA"), data("XA-QUANHA"))]))])
    inner_of_forward = env.reply("TT-PHUTHONG", [Attached(data("TT-PHUTHONG"), None, "inline", XLSX_TYPE)],
                                 at("2023-02-10"))  # fmt: skip
    bomb = archive([("Danh sách trẻ em.xlsx", bytes(20 * MiB))])  # 20 MB of zeros in 20 kB
    # unit -> (its reply, what each file must become: (name, status, requirement))
    corpus: dict[str, tuple[bytes, list[tuple[str, str, str | None]]]] = {
        "XA-CAOSON": (  # Apple Mail: the form inline, unnamed
            env.reply("XA-CAOSON", [Attached(data("XA-CAOSON"), None, "inline", XLSX_TYPE)], at("2023-02-10")),
            [("tep-dinh-kem", "accepted", LIST)],
        ),
        "XA-CAMGIANG": (  # no name, no Content-Disposition, application/octet-stream
            env.reply("XA-CAMGIANG", [Attached(data("XA-CAMGIANG"), None, "")], at("2023-02-10")),
            [("tep-dinh-kem", "accepted", LIST)],
        ),
        "XA-DONPHONG": (  # unnamed and labelled as text
            env.reply("XA-DONPHONG", [Attached(data("XA-DONPHONG"), None, "", "text/plain")], at("2023-02-10")),
            [("tep-dinh-kem", "accepted", LIST)],
        ),
        "XA-DUONGPHONG": (  # a list with no extension
            env.reply("XA-DUONGPHONG", [("Danh sach tre em", data("XA-DUONGPHONG"))], at("2023-02-10")),
            [("Danh sach tre em", "accepted", LIST)],
        ),
        "XA-LUCBINH": (  # renamed .xls, though it is an .xlsx
            env.reply("XA-LUCBINH", [("Danh sách trẻ em.xls", data("XA-LUCBINH"))], at("2023-02-10")),
            [("Danh sách trẻ em.xls", "accepted", LIST)],
        ),
        "XA-MYTHANH": (  # a folder zipped on a Mac: two forms, names unflagged UTF-8, the Mac's own files
            env.reply(
                "XA-MYTHANH",
                [
                    (
                        "Ho so.zip",
                        archive(
                            [
                                (f"Ho so/{name('XA-MYTHANH')}", data("XA-MYTHANH")),
                                (f"Ho so/{mythanh_report[0]}", mythanh_report[1]),
                                *MAC_JUNK,
                            ],
                            utf8_flag=False,
                        ),
                    )
                ],
                at("2023-02-10"),
            ),  # fmt: skip
            [
                (f"Ho so.zip{Z}{name('XA-MYTHANH')}", "accepted", LIST),
                (f"Ho so.zip{Z}{mythanh_report[0]}", "accepted", H1),
            ],  # fmt: skip
        ),
        "XA-NGUYENPHUC": (  # zipped on Windows with the list open: Excel's lock file, Thumbs.db, and a photo
            env.reply(
                "XA-NGUYENPHUC",
                [
                    (
                        "Báo cáo.zip",
                        archive(
                            [
                                (name("XA-NGUYENPHUC"), data("XA-NGUYENPHUC")),
                                (f"~${name('XA-NGUYENPHUC')}", b"\x0bnguoi lap" + bytes(150)),
                                ("Thumbs.db", bytes.fromhex("d0cf11e0a1b11ae1") + bytes(600)),
                                ("IMG_2041.jpg", PHOTO),
                            ]
                        ),
                    )
                ],
                at("2023-02-10"),
            ),  # fmt: skip
            [
                (f"Báo cáo.zip{Z}{name('XA-NGUYENPHUC')}", "accepted", LIST),
                (f"Báo cáo.zip{Z}IMG_2041.jpg", "triage", None),
            ],  # fmt: skip
        ),
        "XA-QUANHA": (  # an archive in an archive
            env.reply("XA-QUANHA", [("Bao cao.zip", nested)], at("2023-02-10")),
            [(f"Bao cao.zip{Z}Danh sach.zip{Z}{name('XA-QUANHA')}", "accepted", LIST)],
        ),
        "XA-QUANGTHUAN": (  # a zip bomb
            env.reply("XA-QUANGTHUAN", [("Danh sach.zip", bomb)], at("2023-02-10")),
            [("Danh sach.zip", "triage", None)],
        ),
        "XA-SYBINH": (  # Outlook: HTML body with the office's logo, S/MIME signed
            env.reply("XA-SYBINH", [lists["XA-SYBINH"]], at("2023-02-10"), logo=LOGO, signed=True),
            [(name("XA-SYBINH"), "accepted", LIST)],
        ),
        "XA-TANTU": (  # a zipped scan: no form in it
            env.reply("XA-TANTU", [("scan.zip", archive([("Danh sach tre em.pdf", SCAN)]))], at("2023-02-10")),
            [(f"scan.zip{Z}Danh sach tre em.pdf", "triage", None)],
        ),
        "XA-VIHUONG": (  # a zip sent as an unnamed inline picture
            env.reply(
                "XA-VIHUONG", [Attached(archive([lists["XA-VIHUONG"]]), None, "inline", "image/png")], at("2023-02-10")
            ),
            [(f"tep-dinh-kem{Z}{name('XA-VIHUONG')}", "accepted", LIST)],
        ),  # fmt: skip
        "XA-VUMUON": (  # the report unnamed beside the list named
            env.reply("XA-VUMUON", [lists["XA-VUMUON"], Attached(vumuon_report[1], None, "")], at("2023-02-10")),
            [(name("XA-VUMUON"), "accepted", LIST), ("tep-dinh-kem", "accepted", H1)],
        ),
        "TT-PHUTHONG": (  # the unit's message, with its form inline and unnamed, forwarded by the clerk
            simulate.forward_email(
                inner_of_forward, from_addr=CLERK, to_addr="treem.ldtbxh@bachthong.example", date=at("2023-02-11")
            ),
            [("tep-dinh-kem", "accepted", LIST)],
        ),  # fmt: skip
    }
    env.deliver(*(raw for raw, _ in corpus.values()))
    stored, result, answers = env.collect()
    assert stored.stored == len(corpus) and result.messages == len(corpus) and result.failed == 0

    with env.session() as session:
        subs = submissions(session)
        kept = {m.message_id: m for m in session.scalars(select(IncomingMessage))}
        status = env.status(session, at("2023-02-27"))[(LIST, "2023")]["units"]
        got: dict[str, list[tuple[str, str, str | None]]] = {}
        for sub in subs:
            got.setdefault(sub.unit_code or "?", []).append((sub.attachment_name, sub.status, sub.requirement_code))
        assert got == {unit: expected for unit, (_, expected) in corpus.items()}  # nothing more: no logo, no p7s
        for sub in subs:
            if sub.status == "accepted":
                assert sub.directive_code == "2023-child-protection" and sub.evidence[0].startswith("form:")
                assert Path(sub.attachment_path or "").suffix == {LIST: ".xlsx", H1: ".docx"}[sub.requirement_code]
        reasons = {s.attachment_name: s.reason or "" for s in subs if s.status == "triage"}
        assert reasons[f"Báo cáo.zip{Z}IMG_2041.jpg"] == NOT_A_FORM
        assert reasons[f"scan.zip{Z}Danh sach tre em.pdf"] == NOT_A_FORM
        bomb_reason = reasons["Danh sach.zip"]
        assert "zip bomb" in bomb_reason and "followup record" in bomb_reason, bomb_reason
        # what was received is kept as it came: the message, and each file byte for byte
        for raw, _ in corpus.values():
            assert lf(Path(kept[message_id(raw)].raw_path).read_bytes()) == lf(raw)
        by_name = {s.attachment_name: Path(s.attachment_path or "").read_bytes() for s in subs}
        assert by_name[f"Bao cao.zip{Z}Danh sach.zip{Z}{name('XA-QUANHA')}"] == data("XA-QUANHA")
        assert by_name["Danh sach.zip"] == bomb and by_name[f"Báo cáo.zip{Z}IMG_2041.jpg"] == PHOTO
        # the units whose file waits for the clerk have replied: pending, not missing
        assert {unit: status[unit].state for unit in ("XA-QUANGTHUAN", "XA-TANTU")} == {
            "XA-QUANGTHUAN": "pending",
            "XA-TANTU": "pending",
        }
        assert all(status[unit].state == "on_time" for unit in corpus if unit not in ("XA-QUANGTHUAN", "XA-TANTU"))

    assert sorted(r.rcpt_tos[0] for r in answers) == sorted(env.email_of(unit) for unit in corpus)
    for unit in corpus:
        [answer] = env.answers_to(unit)
        text = plain(answer)
        if unit in ("XA-QUANGTHUAN", "XA-TANTU"):
            assert "chờ cán bộ xem xét" in text and "ĐÃ TIẾP NHẬN" not in text, (unit, text)
        else:
            assert "ĐÃ TIẾP NHẬN" in text and "CHƯA TIẾP NHẬN" not in text, (unit, text)


def test_a_nameless_form_in_triage_is_read_by_its_content_once_the_clerk_assigns_it(env: Env) -> None:
    """A list without its identity, unnamed, from an address nobody registered: the clerk says whose it is."""
    _, filled = env.filled_list("XA-CAOSON", children(4, "anon"))
    reply = env.reply(
        "XA-CAOSON", [Attached(simulate.strip_identity(filled), None, "")], at("2023-02-10"),
        from_addr=STRANGER, threading=False, keep_tag=False, quote_subject=False,
    )  # fmt: skip
    env.deliver(reply)
    _, result, _ = env.collect()
    assert result.submissions == {"triage": 1}
    with env.session() as session:
        [waiting] = submissions(session)
        assert waiting.reason and waiting.reason.startswith("no evidence of the unit")
        assert Path(waiting.attachment_path or "").suffix == ".xlsx"  # kept as what it is, for the clerk to open
        decided = env.collector(session).assign(waiting.id, "XA-CAOSON", "2023-child-protection", LIST, "2023")
        assert (decided.status, decided.summary["rows"]) == ("accepted", 4)


@needs_libreoffice
def test_an_old_format_list_is_converted_whatever_its_name_and_inside_a_zip(env: Env, tmp_path: Path) -> None:
    converted = {}
    for unit in ("XA-CAOSON", "XA-VUMUON"):
        name, data = env.filled_list(unit, children(4, unit))
        converted[unit] = (name.replace(".xlsx", ".xls"), libreoffice(data, "ds.xlsx", "xls", tmp_path))
    env.deliver(
        env.reply("XA-CAOSON", [("Danh sach", converted["XA-CAOSON"][1])], at("2023-02-10")),
        env.reply("XA-VUMUON", [("Ho so.zip", archive([converted["XA-VUMUON"]]))], at("2023-02-10")),
    )
    _, result, _ = env.collect()
    assert result.submissions == {"accepted": 2}
    with env.session() as session:
        placed = {s.unit_code: (s.attachment_name, s.requirement_code, s.summary["rows"]) for s in submissions(session)}
    assert placed == {
        "XA-CAOSON": ("Danh sach", LIST, 4),
        "XA-VUMUON": (f"Ho so.zip{Z}{converted['XA-VUMUON'][0]}", LIST, 4),
    }


@needs_libreoffice
def test_an_opendocument_form_is_converted_whatever_its_name_label_or_archive(env: Env, tmp_path: Path) -> None:
    _, data = env.filled_list("XA-CAOSON", children(4, "XA-CAOSON"))
    ods = libreoffice(data, "ds.xlsx", "ods", tmp_path)
    report_name, blank = env.sent.form("XA-VUMUON", H1)
    values = simulate.plausible_report_values(
        5, requirement=env.config.directive("2023-child-protection").requirement(H1)
    )
    odt_name = report_name.replace(".docx", ".odt")
    odt = libreoffice(simulate.fill_periodic_report(blank, values), "bc.docx", "odt", tmp_path)
    env.deliver(
        # unnamed, and labelled as the workbook it is not
        env.reply("XA-CAOSON", [Attached(ods, None, "", XLSX_TYPE)], at("2023-02-10")),
        env.reply("XA-VUMUON", [("Ho so.zip", archive([(f"Ho so/{odt_name}", odt), *MAC_JUNK]))], at("2023-02-10")),
    )
    _, result, _ = env.collect()
    assert result.submissions == {"accepted": 2}
    with env.session() as session:
        placed = {s.unit_code: (s.attachment_name, s.requirement_code, s.summary) for s in submissions(session)}
    assert placed["XA-CAOSON"][:2] == ("tep-dinh-kem", LIST) and placed["XA-CAOSON"][2]["rows"] == 4
    assert placed["XA-VUMUON"] == (f"Ho so.zip{Z}{odt_name}", H1, {"values": values})
