"""Rights on a contract (CON-2, CON-3, CON-5, CON-6) and what each kind of access gives."""

from __future__ import annotations

from typing import Literal

Right = Literal["view", "order", "cancel", "technical_change", "billing_question",
                "commercial_contact"]
RIGHTS: tuple[str, ...] = ("view", "order", "cancel", "technical_change", "billing_question",
                           "commercial_contact")
COMMERCIAL_CONTACT = "commercial_contact"
# Contract holder link: every right of every contract under the number.
HOLDER_RIGHTS = RIGHTS
# User link: one contract or phone number, limited rights (seed 003 "Nutzer").
USER_RIGHTS: tuple[str, ...] = ("view", "technical_change")
# Transferred to another master administrator: everything but "commercial contact" (CON-5).
TRANSFERABLE_RIGHTS: tuple[str, ...] = tuple(r for r in RIGHTS if r != COMMERCIAL_CONTACT)


def ordered(rights: set[str] | list[str] | tuple[str, ...]) -> list[str]:
    return [r for r in RIGHTS if r in set(rights)]
