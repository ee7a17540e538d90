"""Upload files for invitation imports (spreadsheets and CSV as a company sends them, or as an
attacker crafts them), and what reading one costs identity's process tree (CPU, memory)."""

from __future__ import annotations

import io
import os
import zipfile
from xml.sax.saxutils import escape

import openpyxl

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def minimal_xlsx(rows: list[list[str]], dimension: str, last_row: int | None = None) -> bytes:
    """The smallest workbook Excel and openpyxl open: one sheet of inline strings, declaring
    ``dimension``, with an empty row element at ``last_row``."""
    def cell(col: int, r: int, v: str) -> str:
        return f'<c r="{chr(65 + col)}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
    body = "".join(f'<row r="{r}">' + "".join(cell(i, r, v) for i, v in enumerate(row))
                   + "</row>" for r, row in enumerate(rows, start=1))
    if last_row:
        body += f'<row r="{last_row}"/>'
    parts = {
        "[Content_Types].xml":
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxml'
            'formats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
            'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-office'
            'document.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
                       f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{NS}" xmlns:r="{REL}"><sheets><sheet name="S" '
                           'sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{NS}"><dimension ref="{dimension}"/>'
                                    f'<sheetData>{body}</sheetData></worksheet>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()


def xlsx_of(rows: list[list]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_of(emails: list[str]) -> bytes:
    return ("email,role\n" + "".join(f"{e},user\n" for e in emails)).encode()


class Usage:
    """CPU seconds and peak resident memory of a process, from /proc. The CPU is the whole
    tree's: identity reads uploads in children of a fork server it starts, so the process
    itself, its live descendants, and the children each of them has waited for."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu_seconds(self) -> float:
        return sum(_cpu_ticks(pid) for pid in _tree(self.pid)) / os.sysconf("SC_CLK_TCK")

    def peak_mb(self) -> float:
        with open(f"/proc/{self.pid}/status") as f:
            line = next(x for x in f if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024


def _tree(pid: int) -> list[int]:
    pids, i = [pid], 0
    while i < len(pids):
        for task in os.listdir(f"/proc/{pids[i]}/task"):
            try:
                with open(f"/proc/{pids[i]}/task/{task}/children") as f:
                    pids.extend(int(c) for c in f.read().split())
            except FileNotFoundError:
                pass  # the thread ended meanwhile
        i += 1
    return pids


def _cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime (the reaped children's)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0  # ended meanwhile: counted in its parent's cutime once reaped
    return sum(int(x) for x in fields[11:15])
