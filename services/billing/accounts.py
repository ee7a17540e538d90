"""The billing account as stored: read it, change it whole, and its history of changes, of
which the account keeps the last ``HISTORY_KEPT`` entries and the archive every older one.

The archive is read only here: a history page older than what the account keeps, and the
method an invoice is billed with when its activation is that old (BIL-3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.billing.domain import account as acc
from services.billing.domain.errors import BillingAccountNotFound
from services.billing.store import BillingStore
from shared.mongo import is_duplicate

Doc = dict[str, Any]
# Fields an archived entry has besides the entry itself.
_ARCHIVE_ONLY = ("_id", "company_id", "at_ts")


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


async def open_billing_account(store: BillingStore, *, company_id: str, company_name: str,
                               event_id: str, admin_email: str | None = None,
                               language: str = "en") -> bool:
    """A company's billing account, opened once however often the event arrives."""
    return await store.accounts.create_once(acc.new_account(
        company_id, company_name, admin_email, language, event_id, _now()))


async def billing_account(store: BillingStore, company_id: str) -> Doc:
    account = await store.accounts.get({"_id": company_id, "company_id": company_id})
    if account is None:
        raise BillingAccountNotFound("This company has no billing account yet; it is opened "
                                     "right after the registration, try again in a moment.")
    return account


async def change_account(store: BillingStore, company_id: str,
                         mutate: Callable[[Doc], list[dict] | None], *,
                         applied_event: str | None = None) -> Doc:
    """Read, change and save the account whole (optimistic version, retried on a race).

    History beyond ``HISTORY_KEPT`` entries moves to the archive (deterministic ids, so a
    retried write archives nothing twice) before the account is saved without it. Only
    entries the account had saved overflow, so the archive never holds an unsaved change."""
    async def change(doc: Doc) -> list[dict]:
        events = mutate(doc) or []
        history = doc.get("history", [])
        overflow = history[:-acc.HISTORY_KEPT] if len(history) > acc.HISTORY_KEPT else []
        for entry in overflow:
            try:
                await store.history_archive.insert_one(_archived(company_id, entry))
            except Exception as e:
                if not is_duplicate(e):
                    raise
        if overflow:
            doc["history"] = history[len(overflow):]
        return events

    doc = await store.accounts.change({"_id": company_id, "company_id": company_id}, change,
                                      applied_event=applied_event)
    if doc is None:
        raise BillingAccountNotFound("This company has no billing account yet; it is opened "
                                     "right after the registration, try again in a moment.")
    return doc


def _archived(company_id: str, entry: Doc) -> Doc:
    # ``at_ts`` (epoch seconds) because the emulator compares stored datetimes unreliably.
    return {**entry, "_id": f"{company_id}:{entry['seq']}", "company_id": company_id,
            "at_ts": _aware(entry["at"]).timestamp()}


def _entry(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if k not in _ARCHIVE_ONLY}


# -- the history, however old (BIL-3) ------------------------------------------------------------

async def history_page(store: BillingStore, account: Doc, *, before: int | None,
                       limit: int) -> tuple[list[Doc], int | None]:
    """Up to ``limit`` entries older than sequence number ``before`` (None: the newest), oldest
    first, and the ``before`` of the next (older) page, None when this page reaches the first
    entry. Sequence numbers run from 1 without gaps, kept entries after archived ones."""
    kept = account.get("history", [])
    upper = account.get("history_seq", 0) + 1 if before is None else before
    page = [e for e in kept if e["seq"] < upper][-limit:]
    first_kept = kept[0]["seq"] if kept else account.get("history_seq", 0) + 1
    below = min(upper, first_kept)
    if len(page) < limit and below > 1:
        older = await store.history_archive.find(
            {"company_id": account["company_id"], "seq": {"$lt": below}}
        ).sort("seq", -1).limit(limit - len(page)).to_list()
        page = [_entry(d) for d in reversed(older)] + page
    oldest = page[0]["seq"] if page else 1
    return page, oldest if oldest > 1 else None


async def method_active_at(store: BillingStore, account: Doc, when: datetime) -> Doc | None:
    """The method that was active at ``when``: the last activation at or before it, in the
    account's history or, when that is older than what the account keeps, in the archive
    (one indexed read). With no activation that early, the one active now."""
    archived = None
    kept = account.get("history", [])
    if acc.activated_at(account, when) is None and kept and kept[0]["seq"] > 1:
        found = await store.history_archive.find(
            {"company_id": account["company_id"], "action": "activated",
             "at_ts": {"$lte": when.timestamp()}}).sort("seq", -1).limit(1).to_list()
        archived = found[0]["payment_method_id"] if found else None
    return acc.active_method_at(account, when, archived=archived)
