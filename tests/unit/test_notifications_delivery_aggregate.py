"""The delivery aggregate: attempts recorded once per claim, a killed holder's send shown as
unconfirmed, resends refused where the log says so, and stored documents keep their shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.domain.delivery import (
    UNCONFIRMED,
    Claim,
    Delivery,
    ResendAsked,
    Undeliverable,
)
from services.notifications.domain.errors import (
    DeliveryInProgress,
    MessageCarriedASecret,
    RecipientOptedOut,
)

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


def stored(**changes) -> dict:
    """A delivery document as the first version wrote it (no claim fields: failed at once)."""
    doc = {
        "_id": "d-1", "event_id": "e-1", "event_type": "identity.password.changed.v1",
        "kind": "password_changed", "channel": "email", "recipient": "c***@example.com",
        "recipient_key": "k", "language": "de", "company_id": "c-1", "user_id": "u-1",
        "essential": True, "secret": False, "address": "carl@example.com", "values": {},
        "status": "queued", "failure": "", "attempts": [], "provider": "",
        "provider_message_id": "", "created_at": NOW, "updated_at": NOW, "sent_at": None,
        "created_ts": NOW.timestamp(), "sort_key": "x|d-1", "claim_until": 0.0,
        "resend_of": "", "resends": 0, "version": 3,
    }
    return {**doc, **changes}


def test_a_document_saved_again_keeps_its_fields_and_gains_none():
    doc = stored(attempts=[{"at": NOW, "outcome": "error", "provider": "smtp",
                            "error": "SMTP 451"}])  # an attempt from before claims
    delivery = Delivery.model_validate(doc)
    assert delivery.document() == {k: v for k, v in doc.items() if k != "version"}
    assert delivery.version == 3


def test_the_send_of_a_killed_holder_is_logged_unconfirmed_before_the_next_one():
    delivery = Delivery.model_validate(stored(claim_id="dead", claimed_at=NOW))
    claim = Claim("mine", previous_id="dead", previous_at=NOW)
    delivery.hold(claim, until=1.0, at=NOW + timedelta(minutes=1))
    delivery.sent(claim, "smtp", "<d-1@bap>", NOW + timedelta(minutes=1))
    delivery.sent(claim, "smtp", "<d-1@bap>", NOW + timedelta(minutes=2))  # repeated write
    assert [(a.outcome, a.error) for a in delivery.attempts] == [
        ("unconfirmed", UNCONFIRMED), ("sent", "")]
    assert delivery.status == "sent" and delivery.sent_at == NOW + timedelta(minutes=1)
    assert delivery.claim_id == "" and delivery.claim_until == 0.0


def test_a_final_failure_fails_the_delivery_and_is_announced_with_every_attempt():
    delivery = Delivery.model_validate(stored())
    assert delivery.attempt_failed(Claim("a"), "smtp", "SMTP 451", NOW, final=None) == []
    [announced] = delivery.attempt_failed(Claim("b"), "smtp", "SMTP 451", NOW,
                                          final="exhausted")
    assert isinstance(announced, Undeliverable)
    assert (announced.attempts, announced.failure) == (2, "exhausted")
    assert delivery.status == "failed" and delivery.failure == "exhausted"


@pytest.mark.parametrize("changes,refusal", [
    ({"secret": True, "status": "sent"}, MessageCarriedASecret),
    ({"status": "suppressed"}, RecipientOptedOut),
    ({"status": "queued"}, DeliveryInProgress),
])
def test_resend_is_refused_for_secrets_opt_outs_and_deliveries_in_progress(changes, refusal):
    delivery = Delivery.model_validate(stored(**changes))
    with pytest.raises(refusal):
        delivery.request_resend("support")
    assert delivery.resends == 0


def test_each_resend_is_a_new_queued_delivery_of_the_same_message():
    delivery = Delivery.model_validate(stored(status="sent", values={"username": "carl"}))
    asked = delivery.request_resend("support")
    assert asked == ResendAsked("d-1", "d-1-r1", "c-1", "support")
    assert delivery.request_resend("support").resend_id == "d-1-r2"
    again = delivery.resent("d-1-r1", "e-2", NOW)
    assert (again.id, again.resend_of, again.status, again.attempts) == (
        "d-1-r1", "d-1", "queued", [])
    assert again.values == {"username": "carl"} and again.address == "carl@example.com"


def test_the_kind_names_the_api_filters_by_are_every_kind_in_order():
    from typing import get_args

    from services.notifications.domain.kinds import KINDS, KindName
    assert get_args(KindName) == tuple(KINDS)
