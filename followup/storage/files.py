"""Files kept as received: raw messages and their attachments, named by content hash.

Names from outside never become paths here: a message is stored as ``<sha256>.eml`` and an attachment as
``<sha256>.<ext>``, so ``../`` in a file name cannot escape the store, and storing twice is harmless.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path


class FileStore:
    def __init__(self, root: Path):
        self.root = root

    def _put(self, folder: str, data: bytes, ext: str) -> Path:
        digest = hashlib.sha256(data).hexdigest()
        ext = re.sub(r"[^a-z0-9]", "", ext.lower())[:10] or "bin"
        target = self.root / folder / digest[:2] / f"{digest}.{ext}"
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:  # write, then rename: a crash leaves no half file
            handle.write(data)
        os.replace(tmp, target)
        return target

    @staticmethod
    def sync() -> None:
        """Make what was written durable (one call for a batch, instead of an fsync per file)."""
        os.sync()

    def put_message(self, raw: bytes) -> Path:
        return self._put("messages", raw, "eml")

    def put_attachment(self, data: bytes, ext: str) -> Path:
        return self._put("attachments", data, ext)
