"""`followup init`: the clerk's own copy of the built-in configuration, to edit.

A wheel install has no checkout to edit: the defaults ship in the package (``followup/defaults``), and this
copies them into a folder of the clerk's. What the clerk already wrote there is never overwritten unless asked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from followup.i18n import _
from followup.settings import DEFAULTS


class FilesExist(Exception):
    """The folder already holds some of the files; nothing was written."""

    def __init__(self, folder: Path, existing: list[Path]):
        self.existing = existing
        names = ", ".join(str(path.relative_to(folder)) for path in existing)
        message = _("{folder} already has {names}; nothing was written. Choose another folder, or add --force")
        super().__init__(message.format(folder=folder, names=names))


def write_defaults(folder: Path, force: bool = False) -> list[Path]:
    """Copy every built-in file into ``folder`` (created if needed); the paths written, in a stable order.

    All or nothing: with a file already there and no ``force``, ``FilesExist`` names every such file.
    """
    sources = sorted(path for path in DEFAULTS.rglob("*") if path.is_file())
    targets = [folder / source.relative_to(DEFAULTS) for source in sources]
    existing = [target for target in targets if target.exists()]
    if existing and not force:
        raise FilesExist(folder, existing)
    for source, target in zip(sources, targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return targets
