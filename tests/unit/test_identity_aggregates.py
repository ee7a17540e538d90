"""identity's typed aggregates keep the stored document's shape."""

from datetime import UTC, datetime

from services.identity.domain.companies import Company, RegisteringAdmin
from services.identity.domain.users import User

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _user() -> User:
    return User.new(user_id="u1", company_id="c1", email="anna@example.com",
                    email_verified=True, username="admin@muster", first_name="Anna",
                    surname="Muster", phone="+4915112345678", language="de",
                    role="company_admin", status="active", password_hash="hash", now=NOW)


def test_a_new_user_is_stored_with_the_fields_every_creator_wrote():
    assert _user().to_document() == {
        "_id": "u1", "company_id": "c1", "email": "anna@example.com",
        "emails": [{"address": "anna@example.com", "verified": True, "primary": True}],
        "username": "admin@muster", "first_name": "Anna", "surname": "Muster",
        "phone": "+4915112345678", "language": "de", "roles": ["company_admin"],
        "permissions": [], "parent_user_id": None, "status": "active",
        "password_hash": "hash", "password_history": [], "must_change_password": False,
        "created_at": NOW}


def test_loading_and_saving_a_user_keeps_fields_it_does_not_declare_and_adds_no_defaults():
    stored = {**_user().to_document(), "version": 4, "pending_events": [],
              "some_later_field": {"x": 1}}
    user = User.from_document(stored)
    assert user.to_document() == stored
    user.hour_failures = 1
    assert user.to_document() == {**stored, "hour_failures": 1}


def test_an_activated_user_records_one_event_taken_once():
    user = _user()
    user.activated()
    [event] = user.take_events()
    assert event.spec.type == "identity.user.activated.v1"
    assert event.data.model_dump()["roles"] == ["company_admin"]
    assert user.take_events() == []


def test_a_registered_company_stores_default_settings_and_records_its_registration():
    company = Company.register(
        company_id="c1", name="Muster GmbH", login_domain="muster", language="de", now=NOW,
        admin=RegisteringAdmin(user_id="u1", email="anna@example.com", first_name="Anna",
                               surname="Muster", phone="+4915112345678"))
    assert company.to_document() == {
        "_id": "c1", "name": "Muster GmbH", "admin_user_id": "u1", "login_domain": "muster",
        "language": "de", "created_at": NOW, "profile": {},
        "settings": {"sms_login_step": True, "sales_partner_access": False}}
    assert [e.spec.type for e in company.take_events()] == ["identity.company.registered.v1"]
