"""The customer number aggregate (CON-1…CON-4): what the CRM says about a number and its
contracts, its one-time password, and the companies linked to it. Rules only, no I/O: every
function takes the stored document (a dict) and changes it in place.

Document::

    _id = customer_number, kind, segment, holder_name, contact_email, language,
    contracts: [{contract_id, product, segment, access_number, status, started_on,
                 terminated_on}],
    segments_seen: segments any contract had, now or in the past (CON-4),
    otp: {hash, issued_at, expires_at, bound_company_id?, used_at?} | None (wrong attempts
         are counted apart, per company: see ``ContractsStore.take_password_attempt``),
    links: [{company_id, link_type, contract_ids, linked_at, linked_by, stale}],
    linked_companies: [company_id, ...], holder_company_id: "" when none
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.contracts.domain import errors
from services.contracts.domain.rights import HOLDER_RIGHTS, USER_RIGHTS
from shared.durations import in_words

HOLDER, USER = "holder", "user"
ACTIVE, TERMINATED = "active", "terminated"


# -- from the CRM --------------------------------------------------------------------------
def new(issued: dict[str, Any], otp_record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A customer number as the CRM issued it, with its first one-time password."""
    ids = [c["contract_id"] for c in issued["contracts"]]
    if len(ids) != len(set(ids)):
        raise ValueError("the same contract id is listed twice")
    doc = {
        "_id": issued["customer_number"], "customer_number": issued["customer_number"],
        "kind": issued["kind"], "segment": issued["segment"],
        "holder_name": issued["holder_name"], "contact_email": issued["contact_email"],
        "language": issued.get("language") or "de",
        "contracts": [dict(c) for c in issued["contracts"]],
        "segments_seen": [], "otp": otp_record,
        "links": [], "linked_companies": [], "holder_company_id": "", "issued_at": now,
    }
    _see_segments(doc)
    return doc


def put_contract(doc: dict[str, Any], contract: dict[str, Any]) -> None:
    """A contract added or changed by the CRM (its segment is remembered for CON-4)."""
    contracts = [c for c in doc["contracts"] if c["contract_id"] != contract["contract_id"]]
    doc["contracts"] = [*contracts, dict(contract)]
    _see_segments(doc)
    refresh_stale(doc)


def terminate_contract(doc: dict[str, Any], contract: dict[str, Any]) -> None:
    if contract.get("status") != TERMINATED:
        raise ValueError("a termination must carry status 'terminated'")
    put_contract(doc, contract)


def _see_segments(doc: dict[str, Any]) -> None:
    seen = set(doc.get("segments_seen", [])) | {doc["segment"]}
    seen |= {c["segment"] for c in doc["contracts"]}
    doc["segments_seen"] = sorted(seen)


def is_mixed(doc: dict[str, Any]) -> bool:
    """Private and business contracts run, or ran, under the number (seed 003)."""
    return {"private", "business"} <= set(doc.get("segments_seen", []))


def is_private_only(doc: dict[str, Any]) -> bool:
    return set(doc.get("segments_seen", [])) == {"private"}


# -- links ---------------------------------------------------------------------------------
def link_of(doc: dict[str, Any], company_id: str) -> dict[str, Any] | None:
    return next((l for l in doc["links"] if l["company_id"] == company_id), None)


def covered_contracts(doc: dict[str, Any], link: dict[str, Any]) -> list[dict[str, Any]]:
    """The contracts a link gives rights for: all of them for a holder (CON-3)."""
    if link["link_type"] == HOLDER:
        return list(doc["contracts"])
    return [c for c in doc["contracts"] if c["contract_id"] in link["contract_ids"]]


def link_rights(link: dict[str, Any]) -> tuple[str, ...]:
    return HOLDER_RIGHTS if link["link_type"] == HOLDER else USER_RIGHTS


def refresh_stale(doc: dict[str, Any]) -> None:
    """A link whose contracts are all terminated is stale (seed 003): it can be deleted."""
    for link in doc["links"]:
        covered = covered_contracts(doc, link)
        link["stale"] = all(c["status"] == TERMINATED for c in covered)


def find_contract(doc: dict[str, Any], *, contract_id: str | None,
                  access_number: str | None) -> dict[str, Any]:
    for c in doc["contracts"]:
        if (contract_id and c["contract_id"] == contract_id) or (
                access_number and c.get("access_number") == access_number):
            return c
    raise errors.UnknownContract(
        f"No contract {contract_id or access_number} runs under customer number "
        f"{doc['_id']}. Check the contract or phone number in your contract documents.")


def check_link_rules(doc: dict[str, Any], *, company_id: str, link_type: str,
                     contract_id: str | None = None,
                     access_number: str | None = None) -> dict[str, Any] | None:
    """Refuse a link the rules do not allow (CON-3, CON-4). Only for a caller whose password
    proved right: the reasons tell what the number holds (issue 9, no enumeration).

    Returns the contract a user link names (None for a holder link).
    """
    number = doc["_id"]
    if is_private_only(doc):
        raise errors.PrivateCustomerNumber(
            f"Customer number {number} holds private contracts only. Private contracts are "
            "managed in the private customer centre, not in the business portal.")
    contract = None
    if link_type == HOLDER:
        if is_mixed(doc):
            raise errors.MixedCustomerNumber(
                f"Private and business contracts run or ran under customer number {number}, "
                "so it can not be linked as contract holder. Ask " + errors.SERVICE_DESK +
                " to move the private contracts to a customer number of their own, or link a "
                "single business contract as user.")
        if doc["holder_company_id"] and doc["holder_company_id"] != company_id:
            raise errors.LinkedElsewhere(
                f"Customer number {number} is linked as contract holder to another company's "
                "account. That company must delete its link first; ask "
                + errors.SERVICE_DESK + " if you are the contract holder.")
    else:
        if not (contract_id or access_number):
            raise errors.ContractRequired(
                [{"field": "contract_id", "rule": "required",
                  "message": "a user link names one contract or phone number"}])
        contract = find_contract(doc, contract_id=contract_id, access_number=access_number)
        if contract["status"] == TERMINATED:
            raise errors.ContractTerminated(
                f"Contract {contract['contract_id']} is terminated and can not be linked.")
        if contract["segment"] != "business":
            raise errors.PrivateCustomerNumber(
                f"Contract {contract['contract_id']} is a private contract; it is managed in "
                "the private customer centre, not in the business portal.")
    own = link_of(doc, company_id)
    if own is not None and own["link_type"] == HOLDER:
        raise errors.AlreadyLinked(
            f"Customer number {number} is already linked to your company as contract holder.")
    if own is not None and contract is not None and contract["contract_id"] in own["contract_ids"]:
        raise errors.AlreadyLinked(
            f"Contract {contract['contract_id']} is already linked to your company as user.")
    return contract


def password_generation(doc: dict[str, Any] | None) -> str:
    """Which password attempts are counted against: a new password starts the count afresh.
    "" for an unknown number or one without a password (any password is wrong there)."""
    otp = (doc or {}).get("otp") or {}
    return str(otp["issued_at"]) if otp.get("hash") and otp.get("issued_at") else ""


def check_password_usable(doc: dict[str, Any], *, now: datetime,
                          company_id: str | None = None) -> None:
    otp = doc.get("otp")
    bound = (otp or {}).get("bound_company_id")
    if (not otp or otp.get("used_at")
            or (company_id is not None and bound and bound != company_id)):
        # Single use (NOT-4): once a company linked with it, no other company can.
        raise errors.OneTimePasswordUsed(
            f"The one-time password of customer number {doc['_id']} was used already. Ask "
            + errors.SERVICE_DESK + " for a new one.")
    if otp["expires_at"] <= now:
        # The validity it was issued with (the setting may have changed since).
        issued = otp.get("issued_at")
        validity = f"; it is valid for {in_words(otp['expires_at'] - issued)}" if issued else ""
        raise errors.OneTimePasswordExpired(
            f"The one-time password expired on {otp['expires_at']:%Y-%m-%d}{validity}. Ask "
            + errors.SERVICE_DESK + " for a new one.",
            expired_at=otp["expires_at"].isoformat())


def link(doc: dict[str, Any], *, company_id: str, user_id: str, link_type: str,
         contract: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
    """Add the company's link (the password was checked). A holder link replaces the
    company's user link and uses up the password (CON-3)."""
    own = link_of(doc, company_id)
    if link_type == HOLDER:
        doc["links"] = [l for l in doc["links"] if l["company_id"] != company_id]
        new_link = {"company_id": company_id, "link_type": HOLDER, "contract_ids": [],
                    "linked_at": now, "linked_by": user_id, "stale": False}
        doc["links"].append(new_link)
        doc["holder_company_id"] = company_id
        # Used up, but its hash kept: whoever types it again proves to hold the letter and
        # is told why nothing happens ("already linked"), everybody else "wrong password".
        doc["otp"] = {**doc["otp"], "used_at": now, "bound_company_id": company_id}
    elif own is not None:
        own["contract_ids"] = [*own["contract_ids"], contract["contract_id"]]
        new_link = own
    else:
        new_link = {"company_id": company_id, "link_type": USER,
                    "contract_ids": [contract["contract_id"]], "linked_at": now,
                    "linked_by": user_id, "stale": False}
        doc["links"].append(new_link)
    if doc.get("otp") is not None and link_type != HOLDER:
        # A user link keeps the password for the same company's holder link later (seed
        # 003), but no other company can use it any more.
        doc["otp"] = {**doc["otp"], "bound_company_id": company_id}
    if company_id not in doc["linked_companies"]:
        doc["linked_companies"] = [*doc["linked_companies"], company_id]
    refresh_stale(doc)
    return new_link


def unlink(doc: dict[str, Any], company_id: str) -> dict[str, Any]:
    own = link_of(doc, company_id)
    if own is None:
        raise errors.LinkNotFound(
            f"Your company has no link to customer number {doc['_id']}.")
    doc["links"] = [l for l in doc["links"] if l["company_id"] != company_id]
    doc["linked_companies"] = [c for c in doc["linked_companies"] if c != company_id]
    if doc["holder_company_id"] == company_id:
        doc["holder_company_id"] = ""
    return own


def reissue_allowed(doc: dict[str, Any], *, now: datetime, someone_locked: bool) -> None:
    """Support may issue a new password when the current one is used up, expired or a company
    locked itself out of it (the caller at the desk may be that company)."""
    otp = doc.get("otp")
    if otp and not otp.get("used_at") and otp["expires_at"] > now and not someone_locked:
        raise errors.OneTimePasswordStillValid(
            f"The one-time password of customer number {doc['_id']} is valid until "
            f"{otp['expires_at']:%Y-%m-%d}; the customer can use it.")
    if doc["holder_company_id"]:
        raise errors.LinkedElsewhere(
            f"Customer number {doc['_id']} is linked as contract holder to a company; that "
            "company must delete its link before a new password makes sense.")


def set_password(doc: dict[str, Any], otp_record: dict[str, Any]) -> None:
    doc["otp"] = otp_record


# -- seed 004: the CRM's reference contact, and the holder's own account ------------------
REFERENCE_FIELDS = ("holder_name", "contact_email", "language")


def change_reference(doc: dict[str, Any], changes: dict[str, Any], as_of: float) -> bool:
    """The CRM changed the holder name or reference email address; a change older than the
    one applied last (a retried event arriving late) changes nothing. True if applied."""
    if as_of < doc.get("reference_as_of", 0.0):
        return False
    for key in REFERENCE_FIELDS:
        if changes.get(key):
            doc[key] = changes[key]
    doc["reference_as_of"] = as_of
    return True


def link_holder_account(doc: dict[str, Any], *, company_id: str, user_id: str,
                        now: datetime) -> dict[str, Any]:
    """The holder proved the CRM's reference address and set a password; the company identity
    opened for that account becomes the contract holder, with the same rules as a link by
    one-time password (not mixed, not private only, nobody else holding it). The
    one-time password, if any, is used up by it."""
    check_link_rules(doc, company_id=company_id, link_type=HOLDER)
    had_password = doc.get("otp") is not None
    if not had_password:
        doc["otp"] = {}
    new_link = link(doc, company_id=company_id, user_id=user_id, link_type=HOLDER,
                    contract=None, now=now)
    if not had_password:
        doc["otp"] = None
    return new_link
