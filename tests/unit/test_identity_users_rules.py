"""User administration rules and invitation files (ID-2, ID-11, ID-12), without I/O."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest

from services.identity.domain import invitation_files as inv
from services.identity.domain import users as rules
from services.identity.domain.errors import (
    ActivationCodeExpired,
    ActivationCodeInvalid,
    InvitationFileInvalid,
    RoleNotAllowed,
)
from services.identity.domain.invitations import Invitation, invitation_id_for_row
from shared.http import status_of

pytestmark = pytest.mark.unit

def _user(user_id: str, role: str, permissions: list[str], parent: str | None) -> rules.User:
    return rules.User.new(user_id=user_id, company_id="c", email=f"{user_id}@example.com",
                          email_verified=True, username=None, first_name="A", surname="B",
                          phone=None, language="en", role=role, permissions=permissions,
                          parent_user_id=parent, status="active", password_hash=None,
                          now=datetime.now(UTC))


MASTER = _user("m", "company_admin", [], None)
INVITER = _user("s1", "sub_admin", ["users:invite"], "m")
MANAGER = _user("s2", "sub_admin", ["users:manage"], "m")
BILLING = _user("b", "billing_admin", [], "m")
USER = _user("u", "user", [], "m")


@pytest.mark.parametrize("role", ["user", "billing_admin", "company_admin", "sub_admin"])
def test_master_administrator_may_invite_every_role(role):
    """ID-12: a company administrator can do everything in its company."""
    rules.check_may_invite(MASTER, role)
    rules.check_may_assign(MASTER, role, ["users:read"] if role == "sub_admin" else [])


@pytest.mark.parametrize("role,allowed", [("user", True), ("billing_admin", True),
                                          ("company_admin", False), ("sub_admin", False)])
def test_sub_admin_with_users_invite_invites_only_users_and_billing_admins(role, allowed):
    """ID-12: users:invite never reaches administrators."""
    if allowed:
        rules.check_may_invite(INVITER, role)
    else:
        with pytest.raises(RoleNotAllowed):
            rules.check_may_invite(INVITER, role)


@pytest.mark.parametrize("actor", [BILLING, USER, MANAGER])
def test_only_users_invite_lets_a_non_master_invite(actor):
    """ID-12: billing administrators, users and sub-admins without users:invite can not."""
    with pytest.raises(RoleNotAllowed):
        rules.check_may_invite(actor, "user")


def test_only_a_master_gives_delegated_permissions():
    """ID-12: permissions are chosen by the master administrator."""
    with pytest.raises(RoleNotAllowed):
        rules.check_may_assign(MANAGER, "sub_admin", ["users:invite"])
    rules.check_may_assign(MANAGER, "billing_admin")


def test_users_manage_changes_non_administrators_but_nobody_changes_themselves():
    """ID-12: users:manage never reaches administrators; no one changes their own role."""
    rules.check_may_manage(MANAGER, USER)
    rules.check_may_manage(MANAGER, BILLING)
    for target in (MASTER, INVITER):
        with pytest.raises(RoleNotAllowed):
            rules.check_may_manage(MANAGER, target)
    with pytest.raises(RoleNotAllowed):
        rules.check_may_manage(INVITER, USER)
    with pytest.raises(RoleNotAllowed) as e:
        rules.check_may_manage(MASTER, MASTER)
    assert e.value.slug == "own-account"


def test_new_users_belong_under_the_master_administrator_and_a_master_has_no_parent():
    """ID-12: parent_user_id is the master administrator, even when a sub-admin acts."""
    assert rules.parent_for("user", MASTER) == "m"
    assert rules.parent_for("sub_admin", MASTER) == "m"
    assert rules.parent_for("user", INVITER) == "m"
    assert rules.parent_for("company_admin", MASTER) is None


def test_activation_code_rules_name_wrong_and_expired_codes_apart():
    """ID-2: a wrong code and an expired code are different problems."""
    now = time.time()
    user = MASTER.model_copy(update={"activation_expires": now - 1})
    with pytest.raises(ActivationCodeInvalid) as wrong:
        rules.check_activation_code(user, False, now, 2)
    assert wrong.value.extra["tries_left"] == 2
    with pytest.raises(ActivationCodeExpired) as expired:
        rules.check_activation_code(user, True, now, 2)
    assert status_of(expired.value) == 410 and expired.value.slug == "activation-code-expired"
    rules.check_activation_code(MASTER.model_copy(update={"activation_expires": now + 60}),
                                True, now, 2)


def test_user_ids_are_derived_from_their_cause():
    """A repeated request creates the same user, not a second one."""
    assert rules.user_id_for("invitation:1") == rules.user_id_for("invitation:1")
    assert rules.user_id_for("invitation:1") != rules.user_id_for("invitation:2")


# -- files -------------------------------------------------------------------------------------
def test_excel_style_csv_with_semicolons_bom_and_german_headers_is_read():
    """ID-11: Excel (de/hu) writes ';' and a BOM; header spellings vary."""
    content = ("\ufeffE-Mail;Rolle;Sprache;Vorname;Nachname\r\n"
               "anna@example.com;user;DE;Anna;Muster\r\n"
               ";;;;\r\n"
               "bela@example.com;Company Administrator;;;\r\n").encode("utf-8")
    rows = inv.read_table(content, "csv", max_rows=10)
    assert [(r.row, r.values["email"], r.values["role"], r.values["language"], r.errors)
            for r in rows] == [(2, "anna@example.com", "user", "de", []),
                               (4, "bela@example.com", "company_admin", "", [])]
    assert rows[0].values["first_name"] == "Anna" and rows[0].values["surname"] == "Muster"


def test_windows_1252_csv_is_read_too():
    content = "email,role,first_name\nzoe@example.com,user,Zoé\n".encode("cp1252")
    assert inv.read_table(content, "csv", 10)[0].values["first_name"] == "Zoé"


def test_each_bad_row_names_its_fields_and_rules():
    """ID-11: per-row validation report."""
    content = (b"email,role,language\n"
               b",user,\n"
               b"x@example.com,boss,fr\n"
               b"y@example.com,user,\n"
               b"Y@Example.com,user,\n")
    rows = inv.read_table(content, "csv", 10)
    assert [[(e["field"], e["rule"]) for e in r.errors] for r in rows] == [
        [("email", "missing")], [("role", "role"), ("language", "language")], [],
        [("email", "duplicate_in_file")]]


def test_xlsx_first_sheet_is_read_with_numbers_as_text():
    book = openpyxl.Workbook()
    book.active.append(["Email", "Role", "First Name"])
    book.active.append(["anna@example.com", "billing_admin", 42])
    out = io.BytesIO()
    book.save(out)
    rows = inv.read_table(out.getvalue(), "xlsx", 10)
    assert rows[0].values == {"email": "anna@example.com", "role": "billing_admin",
                              "language": "", "first_name": "42", "surname": ""}


@pytest.mark.parametrize("content,kind,slug", [
    (b"name,role\nx,user\n", "csv", "invitation-file-invalid"),
    (b"", "csv", "invitation-file-invalid"),
    (b"not a zip", "xlsx", "invitation-file-invalid"),
    (b"email,role\n" + b"a@example.com,user\n" * 4, "csv", "invitation-file-too-many-rows"),
])
def test_files_that_can_not_be_used_at_all_are_refused_whole(content, kind, slug):
    with pytest.raises(InvitationFileInvalid) as e:
        inv.read_table(content, kind, max_rows=3)
    assert e.value.slug == slug


def test_content_type_or_file_name_tells_csv_from_xlsx():
    assert inv.kind_of("text/csv; charset=utf-8") == "csv"
    assert inv.kind_of(inv.XLSX) == "xlsx"
    assert inv.kind_of("application/octet-stream", "Team.XLSX") == "xlsx"
    assert inv.kind_of("application/pdf", "x.pdf") is None


def test_pending_invitation_past_its_date_is_expired():
    now = datetime.now(UTC)
    doc = {"_id": "i", "company_id": "c", "email": "a@example.com", "role": "user",
           "language": "de", "token_hash": "h", "expires_ts": 0.0, "invited_by": "u",
           "created_at": now, "status": "pending", "expires_at": now - timedelta(seconds=1)}

    def invitation_status(d: dict, now: datetime) -> str:
        return Invitation.from_document(d).status_at(now)
    assert invitation_status(doc, now) == "expired"
    assert invitation_status({**doc, "expires_at": now + timedelta(days=1)}, now) == "pending"
    assert invitation_status({**doc, "status": "accepted"}, now) == "accepted"
    assert invitation_id_for_row("job", 7) == invitation_id_for_row("job", 7)
