"""What the operator command's tests park: an event type of billing's, and bodies no
consumer could read."""

from __future__ import annotations

from shared.events import EventData

INVOICE_SENT = "test.invoice.sent.v1"
# OSC (set the title), clear the screen, CSI as one C1 character, a right-to-left override.
ESCAPES = "\x1b]0;owned\x07\x1b[2J\u009b31m\u202e".encode()

# message id -> body, published by a broken publisher without a type property (so the
# command has to look into the body to find one).
BODIES = {
    "nested": b"[" * 100_000,
    "nested-object": b'{"a":' * 100_000,
    "binary": bytes(range(256)) * 4,
    "not-utf8": b'{"type": "\xff\xfe"}',
    "large": b'{"pad": "' + b"x" * 2_000_000 + b'"}',
    "empty": b"",
    "escapes": b'{"type": "' + ESCAPES + b'", "x": "' + ESCAPES + b'"}',
}


class InvoiceSent(EventData):
    invoice: str
