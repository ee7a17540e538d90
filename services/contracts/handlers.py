"""contracts' use cases: each a function of its inputs and the store; domain errors raised."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.contracts import events
from services.contracts.domain import customer_numbers as cn
from services.contracts.domain import errors
from services.contracts.domain import one_time_passwords as otp
from services.contracts.domain.rights import COMMERCIAL_CONTACT, TRANSFERABLE_RIGHTS, ordered
from services.contracts.store import ContractsStore
from services.contracts.views import company_contracts
from services.contracts.views import contract_view as _contract_view
from shared.auth import COMPANY_ADMIN, SUB_ADMIN
from shared.errors import PermanentEventError
from shared.events import make_event
from shared.mongo import Aggregates, ConcurrencyConflict, is_duplicate


@dataclass(frozen=True)
class PasswordPolicy:
    """How one-time passwords are kept (from the settings)."""

    pepper: bytes
    valid_days: float = 10.0
    max_attempts: int = 5


def _now() -> datetime:
    return datetime.now(UTC)


def _event(spec, data: dict[str, Any], *, subject: str, company_id: str | None = None) -> dict:
    return make_event(spec, data, source=events.SOURCE, subject=subject, company_id=company_id)


async def _upsert(aggregates: Aggregates, _id: str, initial: Callable[[], dict[str, Any]],
                  mutate: Callable[[dict[str, Any]], list[dict]], *,
                  applied_event: str | None = None) -> dict[str, Any]:
    """Change the aggregate ``_id``, creating it from ``initial()`` first when it is missing."""
    for _ in range(5):
        saved = await aggregates.change({"_id": _id}, mutate, applied_event=applied_event)
        if saved is not None:
            return saved
        doc = initial()
        doc["_id"] = _id
        found = mutate(doc)
        try:
            return await aggregates.create(doc, found or [], applied_event=applied_event)
        except Exception as e:
            if not is_duplicate(e):
                raise
    raise ConcurrencyConflict()


# -- contract space (walking skeleton) ---------------------------------------------------------
async def open_contract_space(store: ContractsStore, *, company_id: str, company_name: str,
                              event_id: str) -> bool:
    """The company's contract space (its linked customer numbers), opened once."""
    return await store.spaces.create_once({
        "_id": company_id, "company_id": company_id, "company_name": company_name,
        "customer_numbers": [], "opened_at": datetime.now(UTC), "opened_by_event": event_id,
    })


# -- CRM events (CON-1) ------------------------------------------------------------------------
async def customer_number_issued(store: ContractsStore, policy: PasswordPolicy,
                                 data: dict[str, Any], *, event_id: str) -> bool:
    """A new customer number: kept with its contracts; a one-time password (valid
    ``otp_valid_days``, 10 by default) is
    issued and announced for the access email. A redelivery issues nothing."""
    number = data["customer_number"]
    if await store.numbers.get({"_id": number}) is not None:
        return False
    now = _now()
    password, record = otp.issue(number, now, valid_days=policy.valid_days, pepper=policy.pepper)
    try:
        doc = cn.new(data, record, now)
    except ValueError as e:
        raise PermanentEventError(f"customer number {number}: {e}") from None
    return await store.numbers.create_once(doc, [_password_event(doc, password)],
                                           applied_event=event_id)


def _password_event(doc: dict[str, Any], password: str) -> dict:
    return _event(events.OTP_ISSUED, {
        "customer_number": doc["_id"], "kind": doc["kind"], "holder_name": doc["holder_name"],
        "contact_email": doc["contact_email"], "language": doc["language"],
        "one_time_password": password, "expires_at": doc["otp"]["expires_at"],
        # The configured validity: the access email states it (ID-2).
        "valid_for": doc["otp"]["expires_at"] - doc["otp"]["issued_at"]},
        subject=doc["_id"])


async def contract_event(store: ContractsStore, data: dict[str, Any], *, terminated: bool,
                         event_id: str) -> None:
    """A contract added, changed or terminated under a known customer number."""
    number = data["customer_number"]

    def apply(doc: dict[str, Any]) -> list[dict]:
        try:
            if terminated:
                cn.terminate_contract(doc, data["contract"])
            else:
                cn.put_contract(doc, data["contract"])
        except ValueError as e:
            raise PermanentEventError(f"customer number {number}: {e}") from None
        # Linked companies learn the contracts (and access numbers) their link covers now.
        return [_linked_event(doc, link) for link in doc["links"]
                if data["contract"]["contract_id"] in
                {c["contract_id"] for c in cn.covered_contracts(doc, link)}]

    if await store.numbers.change({"_id": number}, apply, applied_event=event_id) is None:
        # Possibly ahead of the number's own event: retried with back-off, then parked.
        raise LookupError(f"customer number {number} is not known (yet)")


# -- one-time passwords and links (CON-2, CON-3, CON-4; linking itself: linking.py) ----------
def _linked_event(doc: dict[str, Any], link: dict[str, Any]) -> dict:
    active = [c for c in cn.covered_contracts(doc, link) if c["status"] == cn.ACTIVE]
    return _event(events.LINKED, {
        "company_id": link["company_id"], "customer_number": doc["_id"], "kind": doc["kind"],
        "link_type": link["link_type"], "contract_ids": [c["contract_id"] for c in active],
        "access_numbers": [c["access_number"] for c in active if c.get("access_number")],
        "linked_by": link.get("linked_by")},
        subject=doc["_id"], company_id=link["company_id"])


def link_view(doc: dict[str, Any], link: dict[str, Any]) -> dict[str, Any]:
    return {"customer_number": doc["_id"], "kind": doc["kind"], "link_type": link["link_type"],
            "stale": link.get("stale", False), "linked_at": link["linked_at"],
            "rights": list(cn.link_rights(link)),
            "contracts": [_contract_view(c) for c in cn.covered_contracts(doc, link)]}


async def links(store: ContractsStore, company_id: str) -> list[dict[str, Any]]:
    out = []
    for doc in await store.linked_numbers(company_id):
        link = cn.link_of(doc, company_id)
        if link is not None:
            out.append(link_view(doc, link))
    return out


async def unlink_customer_number(store: ContractsStore, *, company_id: str,
                                 number: str) -> None:
    """Delete the company's link to a number (stale or not; CON-3)."""
    def remove(d: dict[str, Any]) -> list[dict]:
        link = cn.unlink(d, company_id)
        return [_event(events.UNLINKED, {
            "company_id": company_id, "customer_number": d["_id"], "kind": d["kind"],
            "link_type": link["link_type"]}, subject=d["_id"], company_id=company_id)]

    # Filtered by the company: another company's number is "not linked", not "exists".
    if await store.numbers.change({"_id": number, "linked_companies": company_id},
                                  remove) is None:
        raise errors.LinkNotFound(f"Your company has no link to customer number {number}.")


async def reissue_password(store: ContractsStore, policy: PasswordPolicy,
                           number: str) -> dict[str, Any]:
    """Support issues a new one-time password when the old one is used up, expired or a
    company locked itself out of it."""
    async def reissue(d: dict[str, Any]) -> list[dict]:
        now = _now()
        locked = await store.someone_locked(d["_id"], cn.password_generation(d),
                                            policy.max_attempts)
        cn.reissue_allowed(d, now=now, someone_locked=locked)
        password, record = otp.issue(d["_id"], now, valid_days=policy.valid_days,
                                     pepper=policy.pepper)
        cn.set_password(d, record)
        return [_password_event(d, password)]

    saved = await store.numbers.change({"_id": number}, reissue)
    if saved is None:
        raise errors.UnknownCustomerNumber(f"Customer number {number} is not known.")
    return {"customer_number": number, "expires_at": saved["otp"]["expires_at"]}


# -- permission transfer to another master administrator (CON-5) -------------------------------
async def find_master_administrator(store: ContractsStore, *, company_id: str, email: str,
                                    number: str, kind: str) -> dict[str, Any]:
    """The master administrator with this email whose company holds rights for the number."""
    doc = await store.numbers.get({"_id": number.strip()})
    candidates = await store.users.collection.find(
        {"email": email.strip().lower()}).to_list(50)
    for user in candidates:
        if (user.get("active") and COMPANY_ADMIN in user.get("roles", [])
                and doc is not None and doc["kind"] == kind
                and user["company_id"] in doc["linked_companies"]):
            if user["company_id"] == company_id:
                raise errors.TransferWithinCompany(
                    "This master administrator belongs to your own company and holds your "
                    "company's rights already.")
            return user
    raise errors.MasterAdministratorNotFound(
        "No master administrator with this email address holds rights for this "
        f"{'landline' if kind == 'landline' else 'mobile'} customer number. Check the email "
        "address and the customer number; the administrator must have linked at least one "
        "customer number first.")


async def _transferable(store: ContractsStore, company_id: str) -> dict[str, dict[str, Any]]:
    """Active landline contracts the company holds as contract holder."""
    out = {}
    for doc in await store.linked_numbers(company_id):
        if doc["holder_company_id"] != company_id or doc["kind"] != "landline":
            continue
        for c in doc["contracts"]:
            if c["status"] == cn.ACTIVE:
                out[c["contract_id"]] = {**_contract_view(c), "customer_number": doc["_id"]}
    return out


def _administrator(user: dict[str, Any]) -> dict[str, Any]:
    return {k: user.get(k) for k in ("user_id", "first_name", "surname", "email")}


async def transfer_options(store: ContractsStore, *, company_id: str,
                           target: dict[str, Any]) -> dict[str, Any]:
    """The found administrator and the contracts that can be ticked (ticked = transferred)."""
    options = await _transferable(store, company_id)
    current = await store.transfers.get({"_id": f"{company_id}:{target['_id']}"})
    ticked = {c["contract_id"] for c in (current or {}).get("contracts", [])}
    return {"administrator": _administrator(target), "rights": list(TRANSFERABLE_RIGHTS),
            "contracts": [{**v, "transferred": cid in ticked}
                          for cid, v in sorted(options.items())]}


async def save_transfers(store: ContractsStore, *, company_id: str, target: dict[str, Any],
                         contract_ids: list[str]) -> dict[str, Any]:
    """Ticked contracts are transferred, unticked ones revoked; one event per change."""
    options = await _transferable(store, company_id)
    wanted = list(dict.fromkeys(contract_ids))
    refused = [c for c in wanted if c not in options]
    if refused:
        raise errors.ContractsNotTransferable(
            "Your company does not hold these contracts as active landline contract holder: "
            + ", ".join(refused) + ".", contract_ids=refused)

    def apply(doc: dict[str, Any]) -> list[dict]:
        before = {c["contract_id"]: c for c in doc["contracts"]}
        after = {c: {"contract_id": c, "customer_number": options[c]["customer_number"]}
                 for c in wanted}
        doc.update(to_email=target["email"], language=target.get("language") or "de",
                   contracts=list(after.values()), updated_at=_now())
        out = []
        for cid in after.keys() - before.keys():
            o = options[cid]
            out.append(_event(events.PERMISSIONS_TRANSFERRED, {
                "from_company_id": company_id, "to_company_id": target["company_id"],
                "to_user_id": target["_id"], "to_admin_email": target["email"],
                "customer_number": o["customer_number"], "contract_id": cid,
                "product": o["product"], "access_number": o.get("access_number"),
                "rights": list(TRANSFERABLE_RIGHTS), "language": doc["language"]},
                subject=o["customer_number"], company_id=company_id))
        for cid in before.keys() - after.keys():
            out.append(_event(events.PERMISSIONS_REVOKED, {
                "from_company_id": company_id, "to_company_id": target["company_id"],
                "to_user_id": target["_id"], "customer_number": before[cid]["customer_number"],
                "contract_id": cid}, subject=before[cid]["customer_number"],
                company_id=company_id))
        return out

    await _upsert(store.transfers, f"{company_id}:{target['_id']}", lambda: {
        "from_company_id": company_id, "to_company_id": target["company_id"],
        "to_user_id": target["_id"], "contracts": []}, apply)
    return await transfer_options(store, company_id=company_id, target=target)


# -- sub-administrators (CON-6) ----------------------------------------------------------------
async def _sub_admin(store: ContractsStore, company_id: str, user_id: str) -> dict[str, Any]:
    user = await store.users.get({"_id": user_id, "company_id": company_id})
    if user is None or SUB_ADMIN not in user.get("roles", []):
        raise errors.SubAdministratorNotFound(
            f"Your company has no sub-administrator {user_id}. Create the sub-administrator "
            "first; it may take a moment to show up here.")
    return user


async def sub_admin_contracts(store: ContractsStore, *, company_id: str,
                              user_id: str) -> dict[str, Any]:
    await _sub_admin(store, company_id, user_id)
    doc = await store.assignments.get({"_id": f"{company_id}:{user_id}"})
    return {"user_id": user_id, "contracts": (doc or {}).get("contracts", [])}


async def assign_sub_admin_contracts(store: ContractsStore, *, company_id: str, user_id: str,
                                     contracts: list[dict[str, Any]]) -> dict[str, Any]:
    """Replace the contracts (and rights on each) a sub-administrator may see and manage."""
    await _sub_admin(store, company_id, user_id)
    own = await company_contracts(store, company_id)
    refused, items = [], []
    for item in contracts:
        held = own.get(item["contract_id"])
        default = [r for r in (held or {}).get("rights", []) if r != COMMERCIAL_CONTACT]
        rights = item.get("rights") or default
        if held is None or not set(rights) <= set(held["rights"]):
            refused.append(item["contract_id"])
        else:
            items.append({"contract_id": item["contract_id"], "rights": ordered(rights)})
    if refused:
        raise errors.ContractsNotAssignable(
            "Your company does not hold these contracts, or not with the rights asked for: "
            + ", ".join(refused) + ".", contract_ids=refused)

    def apply(doc: dict[str, Any]) -> list[dict]:
        doc["contracts"] = items
        doc["updated_at"] = _now()
        return []

    await _upsert(store.assignments, f"{company_id}:{user_id}", lambda: {
        "company_id": company_id, "user_id": user_id, "contracts": []}, apply)
    return {"user_id": user_id, "contracts": items}


# -- identity's users, projected (CON-5, CON-6, CON-7) -----------------------------------------
async def project_user(store: ContractsStore, user_id: str, fields: dict[str, Any], *,
                       event_id: str, as_of: float = 0.0) -> None:
    """Keep identity's user as this service needs it. A redelivered event changes nothing,
    and a field keeps the value of the newest event that set it (a retried older event
    arriving late — say "activated" after "deactivated" — does not undo a newer one)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    if "email" in fields:
        fields["email"] = str(fields["email"]).lower()

    def apply(doc: dict[str, Any]) -> list[dict]:
        stamps = dict(doc.get("field_as_of") or {})
        for key, value in fields.items():
            if stamps.get(key, 0.0) <= as_of:
                doc[key] = value
                stamps[key] = as_of
        doc["field_as_of"] = stamps
        return []

    await _upsert(store.users, user_id, lambda: {
        "user_id": user_id, "company_id": fields.get("company_id", ""), "email": "",
        "first_name": "", "surname": "", "roles": [], "permissions": [], "active": True,
        "language": "de"}, apply, applied_event=event_id)

