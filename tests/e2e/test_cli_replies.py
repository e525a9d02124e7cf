"""The clerk's commands over replies: status at two dates, triage, a reply recorded by hand.

The dispatch and the replies are played in-process (no Prefect needed); the commands run as real
processes, as the clerk types them.
"""

from __future__ import annotations

import datetime as dt
import json
import mailbox
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from flows.collect import fetch_new, interpret
from flows.dispatch import send_queued
from followup import simulation as simulate
from followup.settings import Settings

DIRECTIVE = "2023-child-protection"
ROOT = Path(__file__).resolve().parents[2]


def followup(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "FOLLOWUP_NOW": "2023-02-27T08:00:00+07:00"}
    return subprocess.run([sys.executable, "-m", "followup", *args], capture_output=True, text=True, env=env, cwd=ROOT)


def test_status_triage_and_record_by_hand(isolated_home, monkeypatch, tmp_path):
    monkeypatch.setenv("FOLLOWUP_NOW", "2023-02-06T08:00:00+07:00")
    send_queued.fn(Settings(), DIRECTIVE, None, False, None)
    outbox = [m.as_bytes() for _, m in sorted(mailbox.Maildir(Settings().outbox, create=False).items())]
    on_time = dt.datetime(2023, 2, 13, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    late = dt.datetime(2023, 2, 23, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    replies = simulate.play_units(
        outbox,
        {
            "XA-CAOSON": simulate.Behaviour("on-time", at=on_time, forms=frozenset({"danh-sach-tre-em"})),
            "XA-CAMGIANG": simulate.Behaviour("late", at=late, forms=frozenset({"danh-sach-tre-em"})),
        },
        seed=7,
    )
    vumuon = next(raw for raw in outbox if b".XA-VUMUON.1@" in raw)  # its Message-ID names the unit
    scan = simulate.reply_email(vumuon, [("Danh sách (bản chụp).pdf", b"%PDF-1.4 scan")], date=on_time)
    inbox = mailbox.Maildir(Settings().inbox, create=True)
    for raw in [*replies, scan]:  # each delivered when it was sent: that is the moment it counts from
        inbox.add(simulate.delivered(raw))
    monkeypatch.setenv("FOLLOWUP_NOW", "2023-02-27T08:00:00+07:00")
    fetch_new.fn(Settings())
    interpret.fn(Settings())

    def units(as_of: str) -> dict[str, str]:
        result = followup("status", DIRECTIVE, "--requirement", "danh-sach-tre-em", "--as-of", as_of, "--json")
        assert result.returncode == 0, result.stderr
        (slot,) = json.loads(result.stdout)["slots"]
        return {u["unit"]: u["state"] for u in slot["units"] if u["state"] != "missing"}

    assert units("2023-02-15") == {"XA-CAOSON": "on_time", "XA-VUMUON": "pending"}
    assert units("2023-02-27") == {"XA-CAOSON": "on_time", "XA-CAMGIANG": "late", "XA-VUMUON": "pending"}

    listing = followup("triage")
    assert listing.returncode == 0 and "1 reply(ies) waiting in triage" in listing.stdout
    assert "Danh sách (bản chụp).pdf" in listing.stdout and "XA-VUMUON" in listing.stdout
    number = next(line.split()[0] for line in listing.stdout.splitlines() if "bản chụp" in line)
    set_aside = followup("triage", "--reject", number, "--reason", "bản chụp; văn thư nhập tay")
    assert set_aside.returncode == 0, set_aside.stderr
    assert "0 reply(ies) waiting" in followup("triage").stdout

    name, blank = next((n, d) for n, d in simulate.attachments_of(vumuon).items() if n.endswith(".xlsx"))
    typed = tmp_path / name
    typed.write_bytes(simulate.fill_children_list(blank, simulate.synthetic_children(5, "hand")))
    recorded = followup("record", "XA-VUMUON", "danh-sach-tre-em", str(typed), "--received", "2023-02-14T10:00")
    assert recorded.returncode == 0, recorded.stderr
    assert ": accepted" in recorded.stdout
    assert units("2023-02-27") == {"XA-CAOSON": "on_time", "XA-CAMGIANG": "late", "XA-VUMUON": "on_time"}

    unknown = followup("record", "XA-KHONGCO", "danh-sach-tre-em", str(typed))
    assert unknown.returncode == 2 and "unknown unit 'XA-KHONGCO'" in unknown.stderr
    bad_period = followup("status", DIRECTIVE, "--period", "2023-H2")
    assert bad_period.returncode == 2 and "write 2023 for a year or 2023-H1" in bad_period.stderr
