"""CloudEvents envelopes, the naming rule of event types, and the AsyncAPI catalogue."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.events import CloudEvent, EventData, EventSpec, build_asyncapi, make_event
from shared.logging import correlation_id
from tests.support.event_specs import USER_INVITED, UserInvited

pytestmark = pytest.mark.unit


INVITED_AT = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def invited() -> UserInvited:
    return UserInvited(user_id="u-1", email="anna@example.com", invited_at=INVITED_AT)


# --- envelopes -------------------------------------------------------------------------------

def test_made_event_is_a_valid_cloudevent_with_the_data():
    envelope = make_event(USER_INVITED, invited(), source="/services/identity",
                          subject="u-1", company_id="c-1")
    event = CloudEvent.model_validate(envelope)
    assert event.specversion == "1.0"
    assert event.type == "identity.user.invited.v1"
    assert event.source == "/services/identity"
    assert event.subject == "u-1" and event.companyid == "c-1"
    assert event.datacontenttype == "application/json"
    assert event.data == {"user_id": "u-1", "email": "anna@example.com",
                          "invited_at": "2026-01-31T12:00:00Z", "address": None}
    assert event.time.tzinfo is not None


def test_each_made_event_has_its_own_id_unless_one_is_given():
    first = make_event(USER_INVITED, invited(), source="/services/identity")
    second = make_event(USER_INVITED, invited(), source="/services/identity")
    given = make_event(USER_INVITED, invited(), source="/services/identity", event_id="evt-1")
    assert first["id"] != second["id"]
    assert given["id"] == "evt-1"


def test_made_event_carries_the_correlation_id_of_its_context():
    token = correlation_id.set("req-77")
    try:
        envelope = make_event(USER_INVITED, invited(), source="/services/identity")
    finally:
        correlation_id.reset(token)
    assert CloudEvent.model_validate(envelope).correlationid == "req-77"


def test_event_made_outside_a_request_starts_a_correlation_id_of_its_own():
    envelope = make_event(USER_INVITED, invited(), source="/services/identity")
    assert envelope["correlationid"]


def test_dict_data_is_checked_against_the_spec_and_written_as_json():
    envelope = make_event(USER_INVITED, {"user_id": "u-1", "email": "anna@example.com",
                                         "invited_at": INVITED_AT},
                          source="/services/identity")
    assert envelope["data"]["invited_at"] == "2026-01-31T12:00:00Z"
    with pytest.raises(ValidationError):
        make_event(USER_INVITED, {"user_id": "u-1"}, source="/services/identity")


@pytest.mark.parametrize("bad", ["Identity.User.v1", "identity.user", "identity.user.invited",
                                 "identity.user.invited.V1", "identity.user.invited.v1\n",
                                 "identity..invited.v1", "user.v0", "identity user.v1"])
def test_type_naming_rule_rejects_unversioned_or_capitalised_types(bad):
    with pytest.raises(ValueError):
        EventSpec(bad, UserInvited, "identity", "bad")
    with pytest.raises(ValueError):
        make_event(bad, {"user_id": "u-1"}, source="/services/identity")
    with pytest.raises(ValidationError):
        CloudEvent.model_validate({**make_event(USER_INVITED, invited(), source="/s"),
                                   "type": bad})


@pytest.mark.parametrize("good", ["identity.user.invited.v1", "crm.customer_number.issued.v12",
                                  "billing.invoice.v2"])
def test_type_naming_rule_accepts_lower_case_dotted_versioned_types(good):
    assert EventSpec(good, UserInvited, "identity", "ok").type == good
    CloudEvent.model_validate(make_event(good, {"user_id": "u-1"}, source="/s"))


# --- the AsyncAPI catalogue ------------------------------------------------------------------

def test_catalogue_is_asyncapi_3_with_one_channel_per_event_type(catalogue):
    assert catalogue["asyncapi"] == "3.0.0"
    assert sorted(c["address"] for c in catalogue["channels"].values()) == [
        "crm.customer_number.issued.v1", "identity.user.invited.v1",
        "shop.catalogue.changed.v2"]
    for channel in catalogue["channels"].values():
        assert channel["bindings"]["amqp"]["exchange"]["type"] == "topic"


def channel_message(catalogue: dict, address: str, follow) -> dict:
    [channel] = [c for c in catalogue["channels"].values() if c["address"] == address]
    [message] = channel["messages"].values()
    return follow(catalogue, message)


def test_catalogue_message_names_publisher_and_consumers(catalogue, follow):
    message = channel_message(catalogue, "crm.customer_number.issued.v1", follow)
    assert message["x-publisher"] == "crm"
    assert message["x-consumers"] == ["billing", "contracts"]
    assert channel_message(catalogue, "shop.catalogue.changed.v2", follow)["x-consumers"] == []


def test_catalogue_message_payload_is_the_envelope_with_the_data_schema(catalogue, follow):
    message = channel_message(catalogue, "identity.user.invited.v1", follow)
    envelope, specific = message["payload"]["allOf"]
    assert set(follow(catalogue, envelope)["properties"]) >= {
        "specversion", "id", "source", "type", "time", "correlationid", "companyid"}
    assert specific["properties"]["type"] == {"const": "identity.user.invited.v1"}
    data = follow(catalogue, specific["properties"]["data"])
    assert set(data["required"]) == {"user_id", "email", "invited_at"}
    assert data["properties"]["email"]["format"] == "email"


def test_catalogue_example_is_a_whole_valid_envelope(catalogue, follow):
    message = channel_message(catalogue, "identity.user.invited.v1", follow)
    [example] = message["examples"]
    event = CloudEvent.model_validate(example["payload"])
    assert event.type == "identity.user.invited.v1"
    UserInvited.model_validate(event.data)


def test_catalogue_refs_all_resolve(catalogue, unresolved_refs):
    assert unresolved_refs(catalogue) == []


def test_catalogue_operations_say_who_sends_and_who_receives(catalogue, follow):
    operations = catalogue["operations"].values()
    sends = sorted(follow(catalogue, o["channel"])["address"] for o in operations
                   if o["action"] == "send")
    receives = sorted(follow(catalogue, o["channel"])["address"] for o in operations
                      if o["action"] == "receive")
    assert len(sends) == 3
    assert receives == ["crm.customer_number.issued.v1", "crm.customer_number.issued.v1",
                        "identity.user.invited.v1"]


def test_catalogue_refuses_a_consumed_type_nobody_documents():
    with pytest.raises(ValueError, match=r"crm\.contract\.signed\.v1"):
        build_asyncapi([USER_INVITED], {"crm.contract.signed.v1": ["contracts"]})


def test_catalogue_keeps_two_data_models_of_the_same_class_name_apart(follow, unresolved_refs):
    def spec_with(etype: str, field: str) -> EventSpec:
        model = type("Changed", (EventData,), {"__annotations__": {field: str}})
        return EventSpec(etype, model, "x", "changed")

    doc = build_asyncapi([spec_with("a.thing.changed.v1", "colour"),
                          spec_with("b.thing.changed.v1", "size")], {})
    assert unresolved_refs(doc) == []
    fields = {}
    for channel in doc["channels"].values():
        [message] = channel["messages"].values()
        data = follow(doc, follow(doc, message)["payload"]["allOf"][1]["properties"]["data"])
        fields[channel["address"]] = set(data["properties"])
    assert fields == {"a.thing.changed.v1": {"colour"}, "b.thing.changed.v1": {"size"}}
