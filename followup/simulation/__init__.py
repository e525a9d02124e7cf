"""Simulated units that reply: forms filled as a commune officer fills them, broken as people break them, and
the e-mails that carry them back. Used by ``followup demo`` (which plays the units), integration tests and
benchmarks.

Pure functions over bytes: no database, no network. Everything random is seeded, so a run can be replayed.

- ``people``: synthetic children, the rows of a list.
- ``ooxml``: the zip/XML plumbing both forms share (edit parts in place, copy the rest unchanged).
- ``children_list``: fill and break the children list (.xlsx).
- ``periodic_report``: fill and break the periodic report (.docx), plausible indicator values.
- ``mail``: replies and forwards as mail clients write them (files unnamed, inline, zipped; logos, signatures),
  the files a message carries, and a reply as delivered into a Maildir at a given moment.
- ``units``: ``Behaviour`` and ``play_units``, which answer a dispatch's messages unit by unit.
"""

from followup.simulation.children_list import LIST_ERRORS, break_children_list, fill_children_list
from followup.simulation.mail import Attached, archive, attachments_of, date_of, delivered, forward_email, reply_email
from followup.simulation.ooxml import strip_identity
from followup.simulation.people import SyntheticChild, synthetic_children
from followup.simulation.periodic_report import (
    REPORT_ERRORS,
    break_report,
    default_narrative,
    fill_periodic_report,
    plausible_report_values,
)
from followup.simulation.units import Behaviour, play_units

__all__ = [
    "Attached",
    "LIST_ERRORS",
    "REPORT_ERRORS",
    "Behaviour",
    "SyntheticChild",
    "archive",
    "attachments_of",
    "break_children_list",
    "break_report",
    "date_of",
    "default_narrative",
    "delivered",
    "fill_children_list",
    "fill_periodic_report",
    "forward_email",
    "plausible_report_values",
    "play_units",
    "reply_email",
    "strip_identity",
    "synthetic_children",
]
