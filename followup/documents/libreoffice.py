"""LibreOffice at the edge: the letter to PDF, and a unit's .xls/.doc/.ods/.odt to .xlsx/.docx, when it is installed.

Each conversion gets a throw-away profile, so conversions run while the clerk has LibreOffice open, and
in parallel. Without ``soffice`` on PATH the callers get None and carry on (the .docx is then what is sent;
the unit is asked for .xlsx/.docx).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from followup.i18n import _

PDF_TIMEOUT = 180  # seconds; a cold LibreOffice start with a fresh profile takes several
PDF_SECONDS_PER_MIB = 600  # more for a long document: LibreOffice lays out a 10,000-row table for minutes
#: What a unit may send that LibreOffice turns into the forms' own formats: the old Office formats, and
#: OpenDocument (what LibreOffice itself saves).
CONVERTIBLE = {"xls": "xlsx", "doc": "docx", "ods": "xlsx", "odt": "docx"}


def pdf_timeout(source: Path) -> float:
    """How long LibreOffice may take to convert ``source``: a letter's time, and more the longer it is."""
    return PDF_TIMEOUT + PDF_SECONDS_PER_MIB * source.stat().st_size / 2**20


def _convert(source: Path, target: str, out_dir: Path, timeout: float) -> Path | None:
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="followup-lo-") as profile:
        command = [
            soffice, f"-env:UserInstallation={Path(profile).resolve().as_uri()}", "--headless",
            "--convert-to", target, "--outdir", str(out_dir), str(source),
        ]  # fmt: skip
        _run(command, timeout)
    out = out_dir / f"{source.stem}.{target}"
    return out if out.exists() else None


def _run(command: list[str], timeout: float) -> None:
    """Run LibreOffice in a process group of its own: on timeout the whole group is killed, not only the
    launcher (``soffice`` starts ``soffice.bin``, which would go on converting and writing)."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, command, out, err)


def to_pdf(docx_path: Path, out_dir: Path, timeout: float = PDF_TIMEOUT) -> Path | None:
    """The PDF of a .docx; None without LibreOffice; RuntimeError saying why when the conversion fails."""
    try:
        pdf = _convert(docx_path, "pdf", out_dir, timeout)
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace").strip()
        raise RuntimeError(
            _("LibreOffice could not convert {file} to PDF: {detail}").format(file=docx_path.name, detail=detail)
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(
            _("LibreOffice took more than {seconds} s to convert {file}").format(
                seconds=f"{timeout:.0f}", file=docx_path.name
            )
        ) from exc
    if pdf is None and shutil.which("soffice"):
        raise RuntimeError(
            _("LibreOffice reported success but wrote no PDF of {file} in {folder}").format(
                file=docx_path.name, folder=out_dir
            )
        )
    return pdf


def convert_to_ooxml(data: bytes, ext: str) -> bytes | None:
    """.xls/.doc/.ods/.odt to .xlsx/.docx; None without LibreOffice or when it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"reply.{ext}"
        source.write_bytes(data)
        try:
            out = _convert(source, CONVERTIBLE[ext], Path(tmp), 120)
        except (subprocess.SubprocessError, OSError):
            return None
        return out.read_bytes() if out else None
