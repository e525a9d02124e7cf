"""The clerk's files: the shipped ones load, and each kind of mistake is named with file, path and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from followup.domain.config import ConfigError, Deadline, load_config
from followup.services.checks import check_templates


def test_shipped_configuration_matches_the_district(config):
    units = config.recipients.units
    communes = [u for u in units if u.kind.value in ("commune", "town")]
    assert len(communes) == 14
    places = {u.name.removeprefix("Ủy ban nhân dân ").removeprefix("thị trấn ").removeprefix("xã ") for u in communes}
    assert {"Phủ Thông", "Cao Sơn", "Vũ Muộn", "Đôn Phong", "Sỹ Bình", "Quân Hà"} <= places
    assert len(units) >= 30
    assert all(email.endswith(".example") for u in units for email in u.emails)
    assert len({u.code for u in units}) == len(units)

    directive = config.directive("2023-child-protection")
    assert directive.symbol == "UBND-LĐTBXH"
    assert len(directive.items) == 9
    assert directive.items[0].count("Lồng ghép") == 1
    children, first_half, year = directive.requirements
    assert children.from_groups == ["xa-thi-tran"] and str(children.deadline) == "20/02/2023"
    assert (first_half.deadline.day, first_half.deadline.month, first_half.deadline.year) == (15, 5, None)
    assert first_half.before and first_half.period == "H1"
    assert (year.deadline.day, year.deadline.month) == (10, 11) and year.period == "year"


def edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    return [str(p) for p in caught.value.problems]


def test_every_problem_is_listed_at_once_with_file_path_and_line(workdir: Path):
    def break_recipients(data):  # type: ignore[no-untyped-def]
        data["units"][1]["groups"] = ["xa-thi-tran", "xa-thi-tranh"]  # unknown group
        data["units"][2]["code"] = data["units"][3]["code"]  # duplicate code
        del data["units"][4]["emails"]  # missing e-mail
        data["units"][5]["emails"] = ["ubnd.mythanh.example"]  # malformed

    edit(workdir / "recipients.yaml", break_recipients)

    def break_directive(data):  # type: ignore[no-untyped-def]
        data["requirements"][0]["from_groups"] = ["cac-truong-hoc"]  # group that does not exist
        data["requirements"][1]["deadline"] = "31/04"  # not a date
        data["requirements"][2]["deadline"] = "mười tháng mười một"  # does not parse

    edit(workdir / "directives" / "2023-child-protection.yaml", break_directive)
    problems = problems_of(workdir)
    text = "\n".join(problems)
    assert len(problems) == 7, text
    recipients = str(workdir / "recipients.yaml")
    directive = str(workdir / "directives" / "2023-child-protection.yaml")
    assert f"{recipients}:" in text and f"{directive}:" in text
    assert "units[1].groups[1]: unknown group 'xa-thi-tranh'" in text
    assert "duplicate unit code 'XA-DONPHONG'" in text
    assert "units[4].emails: is required but missing" in text
    assert "units[5].emails[0]: 'ubnd.mythanh.example' is not an e-mail address" in text
    assert "requirements[0].from_groups[0]: requirement 'danh-sach-tre-em' asks group 'cac-truong-hoc'" in text
    assert "requirements[1].deadline: deadline '31/04' is not a real date" in text
    assert "requirements[2].deadline: deadline 'mười tháng mười một' does not parse; write dd/mm/yyyy" in text
    # each problem points at a line, and that line holds what it names
    lines = (workdir / "recipients.yaml").read_text(encoding="utf-8").splitlines()
    unknown = next(p for p in problems if "xa-thi-tranh" in p)
    line_no = int(unknown.split(":")[1])
    assert "xa-thi-tranh" in lines[line_no - 1]


def test_yaml_syntax_error_names_the_line(workdir: Path):
    path = workdir / "schedules.yaml"
    path.write_text("timezone: Asia/Ho_Chi_Minh\nflows:\n  collect: [unclosed\n", encoding="utf-8")
    (problem,) = problems_of(workdir)
    assert problem.startswith(f"{path}:") and "not valid YAML" in problem


def test_unknown_field_and_bad_cron_are_named(workdir: Path):
    edit(workdir / "schedules.yaml", lambda d: d.update(timezone="Asia/Hanoi_City", flows={"collect": "every day"}))
    text = "\n".join(problems_of(workdir))
    assert "unknown time zone 'Asia/Hanoi_City'" in text
    assert "'every day' is not a cron expression" in text


@pytest.mark.parametrize(
    ("cron", "wrong"),
    [("99 99 * * *", "Bad minute"), ("30 25 * * *", "Bad hour"), ("0 7 31 2 *", "Bad day-of-month"),
     ("0 7 * * 1-6 2024", "it has 6 field(s)")],
)  # fmt: skip
def test_a_cron_is_checked_by_a_cron_library(workdir: Path, cron: str, wrong: str):
    edit(workdir / "schedules.yaml", lambda d: d.update(flows={"collect": cron}))
    (problem,) = problems_of(workdir)
    assert f"flows.collect: {cron!r}" in problem and wrong in problem and "e.g. '30 7 * * 1-6'" in problem


def test_a_line_break_in_a_unit_name_is_refused(workdir: Path):
    edit(workdir / "recipients.yaml", lambda d: d["units"][0].update(name="Xã A\r\nBcc: evil@x.example"))
    (problem,) = problems_of(workdir)
    assert "units[0].name: must be on one line" in problem


def test_template_variable_the_data_does_not_provide(workdir: Path):
    from docx import Document

    doc = Document(str(workdir / "templates" / "directive.docx"))
    doc.add_paragraph("{{ so_dien_thoai_lien_he }}")
    doc.save(str(workdir / "templates" / "directive.docx"))
    (workdir / "templates" / "email" / "directive.txt").write_text("Kính gửi {{ ten_don_vi }}\n", encoding="utf-8")
    (workdir / "templates" / "email" / "directive.html").write_text("<p>{% if %}</p>\n", encoding="utf-8")
    problems = check_templates(load_config(workdir))
    text = "\n".join(problems)
    assert (
        "directive.docx: uses {{ so_dien_thoai_lien_he }}, which directive 2023-child-protection does not provide"
        in text
    )
    assert "directive.txt: uses {{ ten_don_vi }}, which a directive message does not provide" in text
    assert "directive.html:1: template syntax error" in text


def test_email_templates_are_rendered_with_an_example_of_their_typed_context(workdir: Path):
    """A known variable used the wrong way (a field of a list) only shows when the template is rendered."""
    (workdir / "templates" / "email" / "answer.txt").write_text("{{ items.heading.upper() }}\n", encoding="utf-8")
    text = "\n".join(check_templates(load_config(workdir)))
    assert "answer.txt: does not render with an example answer message" in text
    assert "directive.txt" not in text


def test_shipped_templates_pass_the_check(config):
    assert check_templates(config) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("20/02/2023", (20, 2, 2023)), ("15/05", (15, 5, None)), (" 1/1 ", (1, 1, None)), ("29/02", (29, 2, None))],
)
def test_deadline_forms(text, expected):
    d = Deadline.parse(text)
    assert (d.day, d.month, d.year) == expected


def test_a_cached_configuration_follows_every_edit(workdir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    first = load_config(workdir, cache=cache)
    assert len(list(cache.glob("config-*.json"))) == 1
    assert load_config(workdir, cache=cache) == first  # read back from the cache
    edit(workdir / "recipients.yaml", lambda d: d["units"][0].update(name="Ủy ban nhân dân thị trấn Phủ Thông mới"))
    assert load_config(workdir, cache=cache).recipients.units[0].name.endswith("mới")
    edit(workdir / "recipients.yaml", lambda d: d["units"][0].update(emails=["khong-phai-thu"]))
    with pytest.raises(ConfigError, match="is not an e-mail address"):  # an error is never hidden by the cache
        load_config(workdir, cache=cache)
    assert len(list(cache.glob("config-*.json"))) == 1


@pytest.mark.parametrize("content", [b"\x80\x04K\x01.", b'{"recipients": 1}', b"{", b""])
def test_a_damaged_or_foreign_cache_is_ignored_and_rebuilt(workdir: Path, tmp_path: Path, content: bytes):
    cache = tmp_path / "cache"
    first = load_config(workdir, cache=cache)
    (cached,) = cache.glob("config-*.json")
    cached.write_bytes(content)  # e.g. a pickle, or JSON of something else
    assert load_config(workdir, cache=cache) == first
    assert cached.read_bytes().startswith(b'{"recipients":')


def test_the_cache_is_json_keyed_by_pydantic_version(workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import pydantic

    cache = tmp_path / "cache"
    load_config(workdir, cache=cache)
    (before,) = cache.glob("config-*.json")
    assert not list(cache.glob("*.pickle"))
    monkeypatch.setattr(pydantic, "VERSION", "99.0")
    load_config(workdir, cache=cache)
    (after,) = cache.glob("config-*.json")
    assert after.name != before.name


def test_the_directive_asking_for_a_requirement(config):
    assert config.asking_for("danh-sach-tre-em").code == "2023-child-protection"
    with pytest.raises(ValueError, match="requirement 'bao-cao-quy' is unknown; known: bao-cao-6-thang"):
        config.asking_for("bao-cao-quy")


def _line_of(path: Path, problem: str) -> str:
    """The text of the line a problem points at."""
    line_no = int(problem.removeprefix(f"{path}:").split(":")[0])
    return path.read_text(encoding="utf-8").splitlines()[line_no - 1]


def test_an_unknown_form_is_named_with_its_line_and_the_known_forms(workdir: Path):
    path = workdir / "directives" / "2023-child-protection.yaml"
    edit(path, lambda d: d["requirements"][0].update(form="danh-sach"))
    (problem,) = problems_of(workdir)
    assert problem.startswith(f"{path}:")
    assert problem.endswith(
        "requirements[0].form: unknown form 'danh-sach'; the known forms are: children-list, periodic-report"
    )
    assert "form: danh-sach" in _line_of(path, problem)


def test_a_report_form_needs_indicators(workdir: Path):
    edit(workdir / "directives" / "2023-child-protection.yaml", lambda d: d["requirements"][1].update(indicators=[]))
    text = "\n".join(problems_of(workdir))
    assert "requirements[1].indicators: a periodic-report form needs at least one indicator" in text


def test_cross_check_mistakes_are_named_with_their_line(workdir: Path):
    path = workdir / "directives" / "2023-child-protection.yaml"

    def break_checks(data):  # type: ignore[no-untyped-def]
        data["requirements"][1]["cross_checks"] = [
            {"indicator": "tre_em_mo_coi", "equals": "special", "of": "danh-sach-tre-em"},
            {"indicator": "tre_em_hcdb", "equals": "special", "of": "danh-sach-tre-em-2022"},
            {"indicator": "tre_em_hcdb", "equals": "dac_biet", "of": "danh-sach-tre-em"},
            {"indicator": "tre_em_hcdb", "equals": "special", "of": "bao-cao-nam"},
            {"indicator": "tre_em_hcdb", "equals": "special", "of": "danh-sach-tre-em", "message": "Lệch {so_lieu}"},
        ]

    edit(path, break_checks)
    problems = problems_of(workdir)
    assert len(problems) == 5, problems
    where = "requirements[1].cross_checks"
    expected = [
        (f"{where}[0].indicator: cross-check names indicator 'tre_em_mo_coi', which this requirement", "tre_em_mo_coi"),
        (f"{where}[1].of: cross-check compares with requirement 'danh-sach-tre-em-2022', which", "2022"),
        (
            f"{where}[2].equals: 'dac_biet' is not a count of a children-list form; use one of: rows, special",
            "dac_biet",
        ),
        (f"{where}[3].of: requirement 'bao-cao-nam' is a periodic-report form, which has no counts", "bao-cao-nam"),
        (f"{where}[4].message: the message may use only {{reported}}, {{listed}} and {{label}}", "so_lieu"),
    ]
    for message, shown in expected:
        problem = next((p for p in problems if message in p), None)
        assert problem is not None, (message, problems)
        assert shown in _line_of(path, problem)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("timezone: Asia/Ho_Chi_Minh\nflows:\n\tcollect: '0 8 * * *'\n", 3, "indented with a tab"),
        ("flows:\n  collect: '0 8 * * *'\n\t remind: '0 9 * * *'\n", 3, "indented with a tab"),
        ("timezone: Asia/Ho_Chi_Minh\ndays_off: []\nflows:\n  collect: Lưu ý: 8 giờ\n", 4,
         'a colon followed by a space inside a text makes YAML read a new field; put the whole text in double '
         'quotes, e.g. collect: "Lưu ý: 8 giờ"'),
        ('timezone: "Asia/Ho_Chi_Minh\nflows: {}\nreminders: {}\n', 1,
         'the text opened with " on this line is never closed'),
        ("timezone: Asia/Ho_Chi_Minh\ndays_off: [2023-05-02, 2023-09-01\nflows: {}\n", 2,
         "the list opened with [ on this line is never closed; end it with ]"),
    ],
)  # fmt: skip
def test_a_yaml_slip_names_its_line_the_cause_and_the_fix(workdir: Path, text: str, line: int, words: str):
    path = workdir / "schedules.yaml"
    path.write_text(text, encoding="utf-8")
    (problem,) = problems_of(workdir)
    assert problem.startswith(f"{path}:{line}: not valid YAML: ")
    assert words in problem


def test_a_colon_in_a_list_item_is_named_as_the_text_it_should_be(workdir: Path):
    path = workdir / "directives" / "2023-child-protection.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace('lines: [Như trên, "CT, PCT UBND huyện", "Lưu: VT"]', "lines:\n    - Như trên\n    - Lưu: VT")
    path.write_text(text, encoding="utf-8")
    (problem,) = problems_of(workdir)
    line = 1 + text.splitlines().index("    - Lưu: VT")
    assert problem.startswith(f"{path}:{line}: distribution.lines[1]: ")
    assert "YAML read it as a field 'Lưu'; put the whole text in double quotes, e.g. \"Lưu: VT\"" in problem
