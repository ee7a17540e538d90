"""A parked event can hold a reset link, a login code or a temporary password that still
works: the operator CLI shows the event with those values masked unless asked to reveal them,
and a replay still sends the event unchanged."""

from __future__ import annotations

import json

from shared.ops import ParkedMessage, format_show

EVENT = {"specversion": "1.0", "id": "e-1", "type": "identity.password_reset.requested.v1",
         "source": "/services/identity", "data": {
             "email": "anna@example.com", "token": "rst_8f2c0e4d9b7a",
             "code": "483920", "temporary_password": "Tmp!Pass-2931",
             "nested": {"one_time_password": "K7Q2-PX"}, "language": "de"}}


def _parked() -> ParkedMessage:
    return ParkedMessage(index=1, message_id="e-1", type=EVENT["type"], reason="rejected",
                         detail="test", attempts=1, parked_at=None, headers={},
                         body=json.dumps(EVENT).encode())


def test_parked_show_masks_codes_tokens_and_passwords_unless_revealed():
    shown = format_show(_parked())
    for secret in ("rst_8f2c0e4d9b7a", "483920", "Tmp!Pass-2931", "K7Q2-PX"):
        assert secret not in shown
    assert "anna@example.com" in shown and '"language": "de"' in shown
    revealed = format_show(_parked(), reveal=True)
    assert "rst_8f2c0e4d9b7a" in revealed and "483920" in revealed


def test_masking_changes_only_what_is_shown_not_what_a_replay_sends():
    parked = _parked()
    format_show(parked)
    assert json.loads(parked.body) == EVENT
