"""Invitation imports (ID-11): reading a spreadsheet of invitees (CSV or XLSX) and checking
each row. No I/O.

A file is refused as a whole only when it can not be read at all (not CSV/XLSX, no ``email``
or ``role`` column, too many columns, rows or lines, parts that would cost more to parse than
a sheet of the row cap); otherwise every row is checked on its own and the import reports
each bad row by its spreadsheet row number (the header is row 1).
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from pydantic import EmailStr, TypeAdapter, ValidationError

from services.identity.domain.errors import InvitationFileInvalid
from services.identity.domain.registration import normalise_email
from shared.auth import BILLING_ADMIN, COMPANY_ADMIN, USER

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The roles an import row can carry (ID-11); a sub-administrator is invited one at a time
# (POST /v1/invitations), as the delegated permissions have no column (ID-12).
INVITABLE_ROLES = (USER, BILLING_ADMIN, COMPANY_ADMIN)
LANGUAGES = ("de", "en", "hu")
COLUMNS = ("email", "role", "language", "first_name", "surname")
REQUIRED_COLUMNS = ("email", "role")
# Header spellings people use in Excel, mapped to the column they mean.
_ALIASES = {"e-mail": "email", "email address": "email", "e-mail address": "email",
            "mail": "email", "firstname": "first_name", "first name": "first_name",
            "given name": "first_name", "vorname": "first_name", "lastname": "surname",
            "last_name": "surname", "last name": "surname", "family name": "surname",
            "nachname": "surname", "rolle": "role", "sprache": "language", "lang": "language"}
_ROLE_ALIASES = {"billing administrator": BILLING_ADMIN, "billing admin": BILLING_ADMIN,
                 "company administrator": COMPANY_ADMIN, "company admin": COMPANY_ADMIN,
                 "administrator": COMPANY_ADMIN, "admin": COMPANY_ADMIN}
# A spreadsheet is a zip archive: refuse one that unpacks to far more than a sheet of the
# row cap needs (10 000 rows of five columns unpack to about 3 MB), as every cell present
# is parsed. Each part is capped on its own too (review H1): openpyxl reads the shared
# strings, styles and workbook parts whole before the first row, so 29 MB of tiny shared
# strings cost 19 s of CPU although the total was under the cap.
MAX_UNPACKED_BYTES = 16 * 1024 * 1024
SHEET_MAX_UNPACKED_BYTES = 8 * 1024 * 1024
PART_MAX_UNPACKED_BYTES = 2 * 1024 * 1024
MAX_PARTS = 200
# Element counts, found in the unpacked bytes before openpyxl parses anything: physical
# rows of a sheet (blank ones included: 700 000 rows holding one cell in column Z count as
# blank and never reached the row cap) and shared strings (a name prefix is allowed).
_ROW_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_CELL_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_STRING_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
_ENTITY = re.compile(rb"<!(?:ENTITY|DOCTYPE)", re.IGNORECASE)
NAME_MAX = 100
_EMAIL = TypeAdapter(EmailStr)


@dataclass
class Row:
    """One data row of an upload: its spreadsheet row number, values, and what is wrong."""

    row: int
    values: dict[str, str]
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_doc(self) -> dict[str, object]:
        return {"row": self.row, "values": self.values, "errors": self.errors}


def kind_of(content_type: str, filename: str | None = None) -> str | None:
    """``csv`` or ``xlsx`` from a content type, else from a file name's extension."""
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in (CSV, "application/csv", "text/comma-separated-values"):
        return "csv"
    if ct == XLSX:
        return "xlsx"
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".xlsx"):
        return "xlsx"
    return None


def physical_rows_max(max_rows: int) -> int:
    """Rows (CSV records, XLSX row elements) a file may hold, blank ones and the header
    included: twice the row cap, so exports with some empty lines pass."""
    return 2 * max_rows + 1


def shared_strings_max(max_rows: int) -> int:
    """Distinct texts an XLSX may hold: one per column the import reads, per row."""
    return len(COLUMNS) * (max_rows + 1)


def cells_max(max_rows: int) -> int:
    """Cells an XLSX may hold: openpyxl parses every cell of a row, also those right of the
    columns the import reads (about 15 µs each), so ten per row."""
    return 10 * (max_rows + 1)


def read_table(content: bytes, kind: str, max_rows: int, max_columns: int = 30) -> list[Row]:
    """The data rows of a CSV or XLSX file, each checked on its own (not against the
    database); ``InvitationFileInvalid`` if the file as a whole can not be used.

    The cost follows the cells really in the file: the file is read row by row, only the
    known columns of a row are looked at, blank rows are skipped, and reading stops at the
    row cap (an XLSX sheet's declared dimension is ignored). Blank rows count against
    ``physical_rows_max``: a CSV stops being read there, an XLSX with more row elements (or
    shared strings, or larger parts) is refused before it is parsed."""
    physical = physical_rows_max(max_rows)
    with (_csv_rows(content) if kind == "csv"
          else _xlsx_rows(content, physical, shared_strings_max(max_rows),
                          cells_max(max_rows))) as read:
        first = next(read(1, None), None)
        if first is None:
            raise InvitationFileInvalid("The file is empty. Put a header row (email, role, "
                                        "language, first_name, surname) and one row per "
                                        "person.")
        known = _known_columns(first, max_columns)
        rows: list[Row] = []
        seen: dict[str, int] = {}
        for number, cells in enumerate(read(2, max(i for _, i in known) + 1), start=2):
            if number > physical and kind == "csv":
                raise _too_many_lines(physical)
            if not any(cells):
                continue  # a blank line, or rows missing from an XLSX sheet
            width = len(cells)
            values = {name: _cell(cells[i]) if i < width else "" for name, i in known}
            if not any(values.values()):
                continue  # blank lines are no rows
            if len(rows) >= max_rows:
                raise InvitationFileInvalid(
                    f"The file has more than {max_rows} rows. Split it into several files.",
                    slug="invitation-file-too-many-rows", max_rows=max_rows)
            row = check_row(number, values)
            email = row.values.get("email", "")
            if not row.errors and email in seen:
                row.errors.append({"field": "email", "rule": "duplicate_in_file",
                                   "message": f"the same address is in row {seen[email]}"})
            elif not row.errors:
                seen[email] = number
            rows.append(row)
    if not rows:
        raise InvitationFileInvalid("The file has a header row but nobody to invite. Add one "
                                    "row per person below the header.")
    return rows


def _too_many_lines(physical: int) -> InvitationFileInvalid:
    return InvitationFileInvalid(
        f"The file has more than {physical} lines (empty ones included). Delete the empty "
        "lines below the last person and upload it again.",
        slug="invitation-file-too-many-lines", max_lines=physical)


def _known_columns(header: Sequence[object], max_columns: int) -> list[tuple[str, int]]:
    """(column, position) of each column the import knows; the header's width is capped
    so that a file can not make every row cost thousands of cells."""
    width = len(header)
    while width and _cell(header[width - 1]) == "":
        width -= 1  # Excel and CSV exports often end the header with empty cells
    if width > max_columns:
        raise InvitationFileInvalid(
            f"The header row has {width} columns; at most {max_columns} are read. Keep the "
            "columns email, role, language, first_name and surname and remove the others.",
            slug="invitation-file-too-many-columns", max_columns=max_columns)
    names = [_column(h) for h in header[:width]]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise InvitationFileInvalid(
            f"The header row lacks the column(s) {', '.join(missing)}. Columns: email, role "
            "(user, billing_admin, company_admin), and optionally language, first_name, "
            "surname.", missing_columns=missing)
    return list({name: i for i, name in enumerate(names) if name in COLUMNS}.items())


def check_row(number: int, values: dict[str, str]) -> Row:
    """Normalise one row's values and name each rule it breaks."""
    errors = []
    email = values.get("email", "")
    try:
        email = normalise_email(str(_EMAIL.validate_python(email)))
    except ValidationError:
        errors.append({"field": "email", "rule": "email" if email else "missing",
                       "message": "a valid email address is required"})
    role = _role(values.get("role", ""))
    if role is None:
        errors.append({"field": "role", "rule": "role",
                       "message": "one of " + ", ".join(INVITABLE_ROLES)})
    language = values.get("language", "").lower()
    if language and language not in LANGUAGES:
        errors.append({"field": "language", "rule": "language",
                       "message": "one of " + ", ".join(LANGUAGES) + ", or empty"})
    for name in ("first_name", "surname"):
        if len(values.get(name, "")) > NAME_MAX:
            errors.append({"field": name, "rule": "too_long",
                           "message": f"at most {NAME_MAX} characters"})
    clean = {"email": email, "role": role or values.get("role", ""),
             "language": language, "first_name": values.get("first_name", ""),
             "surname": values.get("surname", "")}
    return Row(number, clean, errors)


def _role(value: str) -> str | None:
    v = " ".join(value.strip().lower().replace("-", " ").split())
    if v.replace(" ", "_") in INVITABLE_ROLES:
        return v.replace(" ", "_")
    return _ROLE_ALIASES.get(v)


def _column(value: object) -> str:
    v = " ".join(_cell(value).lower().replace("\ufeff", "").split())
    return _ALIASES.get(v, v.replace(" ", "_"))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# A table reader: read(first_row, last_column) gives the rows from first_row (1 = header),
# no wider than last_column where the format allows it.
Reader = Callable[[int, int | None], Iterator[Sequence[object]]]


@contextlib.contextmanager
def _csv_rows(content: bytes) -> Iterator[Reader]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
    if "\x00" in text:
        raise InvitationFileInvalid("This is not a CSV file. Upload CSV (UTF-8) or XLSX.")
    first = text[:text.find("\n")] if "\n" in text else text
    # Excel writes ';' where the decimal separator is a comma (de, hu).
    delimiter = max((",", ";", "\t"), key=first.count)

    def read(first_row: int, last_column: int | None) -> Iterator[Sequence[object]]:
        rows = csv.reader(io.StringIO(text), delimiter=delimiter)
        try:
            yield from itertools.islice(rows, first_row - 1, None)
        except csv.Error as e:
            raise InvitationFileInvalid(f"The CSV file can not be read: {e}.") from None
    yield read


def _check_parts(z: zipfile.ZipFile, physical: int, strings: int, cells: int) -> None:
    """Refuse an archive whose parts would cost more to parse than a sheet of the row cap:
    every part's unpacked size is capped (declared sizes hold: zipfile reads no further
    than a part's declared size), and its row, cell and shared-string elements are counted
    in the unpacked bytes, which costs milliseconds where openpyxl would take seconds."""
    parts = z.infolist()
    if len(parts) > MAX_PARTS or sum(i.file_size for i in parts) > MAX_UNPACKED_BYTES:
        raise _costly("The spreadsheet unpacks to too much data.")
    for part in parts:
        name = part.filename
        cap = (SHEET_MAX_UNPACKED_BYTES if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name)
               else PART_MAX_UNPACKED_BYTES)
        if part.file_size > cap:
            raise _costly(f"The part {name[:100]} of the spreadsheet unpacks to more than "
                          f"{cap // (1024 * 1024)} MB.")
    for part in parts:
        data = z.read(part)
        if _ENTITY.search(data):
            raise _costly("The spreadsheet declares XML entities, which Excel never writes.")
        if _more_than(physical, _ROW_ELEMENT, data):
            raise _too_many_lines(physical)
        if _more_than(strings, _STRING_ELEMENT, data):
            raise _costly(f"The spreadsheet holds more than {strings} different texts.")
        if _more_than(cells, _CELL_ELEMENT, data):
            raise _costly(f"The spreadsheet holds more than {cells} cells.")


def _more_than(cap: int, element: re.Pattern[bytes], data: bytes) -> bool:
    # Counted one match at a time and no further than the cap: a list of 500 000
    # matches would itself take 20 MB.
    return sum(1 for _ in itertools.islice(element.finditer(data), cap + 1)) > cap


def _costly(reason: str) -> InvitationFileInvalid:
    return InvitationFileInvalid(
        f"{reason} Save only the table of people to invite (a new workbook, or CSV) and "
        "upload it again.", slug="invitation-file-too-costly")


@contextlib.contextmanager
def _xlsx_rows(content: bytes, physical: int, strings: int,
               cells: int) -> Iterator[Reader]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            _check_parts(z, physical, strings, cells)
        # Read-only: the sheet is parsed as a stream, never held as a whole.
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        # The declared dimension (<dimension ref="A1:XFD1048576"/>) would pad every row to
        # its width and add its rows; only the cells really present are wanted.
        sheet.reset_dimensions()
    except (InvitationFileInvalid, MemoryError):
        raise  # a file too large for the reader's memory is not "unreadable"
    except Exception:
        raise InvitationFileInvalid("The file is not a readable Excel (XLSX) workbook. Save "
                                    "it as .xlsx or CSV and upload it again.") from None

    def read(first_row: int, last_column: int | None) -> Iterator[Sequence[object]]:
        try:
            yield from sheet.iter_rows(min_row=first_row, max_row=1 if first_row == 1
                                       else None, max_col=last_column, values_only=True)
        except MemoryError:
            raise
        except Exception:
            raise InvitationFileInvalid("The XLSX sheet can not be read: save it again with Excel "
                                        "or as CSV and upload it again.") from None
    try:
        yield read
    finally:
        book.close()
