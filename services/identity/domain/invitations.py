"""Invitations (ID-11): reading a spreadsheet of invitees (CSV or XLSX), checking each row,
and the invitation's state. No I/O.

A file is refused as a whole only when it can not be read at all (not CSV/XLSX, no ``email``
or ``role`` column, too many rows); otherwise every row is checked on its own and the import
reports each bad row by its spreadsheet row number (the header is row 1).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import EmailStr, TypeAdapter, ValidationError

from services.identity.domain.errors import InvitationFileInvalid
from services.identity.domain.registration import normalise_email
from shared.auth import BILLING_ADMIN, COMPANY_ADMIN, USER

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The roles an invitation can carry (ID-11); sub-administrators are made from users (ID-12).
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
# A spreadsheet is a zip archive: refuse one that unpacks to far more than it weighs.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
NAME_MAX = 100
_EMAIL = TypeAdapter(EmailStr)


@dataclass
class Row:
    """One data row of an upload: its spreadsheet row number, values, and what is wrong."""

    row: int
    values: dict[str, str]
    errors: list[dict[str, str]] = field(default_factory=list)

    def to_doc(self) -> dict:
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


def read_table(content: bytes, kind: str, max_rows: int) -> list[Row]:
    """The data rows of a CSV or XLSX file, each checked on its own (not against the
    database); ``InvitationFileInvalid`` if the file as a whole can not be used."""
    table = _csv_table(content) if kind == "csv" else _xlsx_table(content, max_rows)
    if not table:
        raise InvitationFileInvalid("The file is empty. Put a header row (email, role, "
                                    "language, first_name, surname) and one row per person.")
    header = [_column(h) for h in table[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvitationFileInvalid(
            f"The header row lacks the column(s) {', '.join(missing)}. Columns: email, role "
            "(user, billing_admin, company_admin), and optionally language, first_name, "
            "surname.", missing_columns=missing)
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(table[1:], start=2):
        values = {name: _cell(cells[i]) if i < len(cells) else ""
                  for i, name in enumerate(header) if name in COLUMNS}
        if not any(values.values()):
            continue  # blank lines are no rows
        if len(rows) >= max_rows:
            raise InvitationFileInvalid(
                f"The file has more than {max_rows} rows. Split it into several files.",
                slug="invitation-file-too-many-rows", max_rows=max_rows)
        row = check_row(number, values)
        email = row.values.get("email")
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


def _csv_table(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
    if "\x00" in text:
        raise InvitationFileInvalid("This is not a CSV file. Upload CSV (UTF-8) or XLSX.")
    first = text.split("\n", 1)[0]
    # Excel writes ';' where the decimal separator is a comma (de, hu).
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        return [r for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
    except csv.Error as e:
        raise InvitationFileInvalid(f"The CSV file can not be read: {e}.") from None


def _xlsx_table(content: bytes, max_rows: int) -> list[list[object]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNPACKED_BYTES:
                raise InvitationFileInvalid("The spreadsheet unpacks to too much data.")
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except InvitationFileInvalid:
        raise
    except Exception:
        raise InvitationFileInvalid("The file is not a readable Excel (XLSX) workbook. Save "
                                    "it as .xlsx or CSV and upload it again.") from None
    try:
        sheet = book.worksheets[0]
        table = []
        # Blank rows are skipped later; a few spare ones let the row limit be reported.
        for cells in sheet.iter_rows(values_only=True):
            table.append(list(cells))
            if len(table) > max_rows * 2 + 100:
                break
        return table
    finally:
        book.close()


def status_of(invitation: dict, now: datetime | None = None) -> str:
    """pending, accepted, revoked, or expired (pending past its date)."""
    if invitation["status"] == "pending":
        expires = invitation["expires_at"]
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        if expires <= (now or datetime.now(UTC)):
            return "expired"
    return invitation["status"]


def invitation_id_for_row(job_id: str, row: int) -> str:
    """The invitation of a row of an import: the same every time the row is processed."""
    return f"{job_id}-r{row}"
