"""contracts' read side: which customer numbers and contracts a caller sees, with which
rights (CON-2, CON-3, CON-5, CON-6), the contract space showing them, the answers built from
aggregates a use case returned, and authorised contacts with their history (CON-7).

Who sees which contracts:
- a master administrator: every contract under the company's links and those transferred to
  them by other companies (CON-5); the space lists every linked number;
- a sub-administrator: the contracts assigned, with the rights assigned (CON-6);
- a mobile-number login (ID-6): the active contracts whose access number is that number,
  under the company's own links, to view only;
- any other user: nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from services.contracts.domain import errors
from services.contracts.domain.companies import (
    ContractSpace as Space,
)
from services.contracts.domain.companies import (
    ProjectedUser,
    check_sub_administrator,
)
from services.contracts.domain.contacts import (
    AuthorisedContact,
    ContactChange,
    answer,
    check_names_contacts,
)
from services.contracts.domain.customer_numbers import Contract as Held
from services.contracts.domain.customer_numbers import CustomerNumber
from services.contracts.domain.customer_numbers import Link as HeldLink
from services.contracts.domain.permissions import (
    PermissionTransfer,
    SubAdminAssignment,
    transferable,
)
from services.contracts.domain.rights import TRANSFERABLE_RIGHTS, ordered
from services.contracts.http.contact_models import (
    AuthorisationAnswer,
    Contact,
    ContactHistory,
    ContactList,
)
from services.contracts.http.contact_models import ContactChange as ContactChangeOut
from services.contracts.http.models import (
    Administrator,
    AssignedContract,
    AssignmentOut,
    Contract,
    ContractSpace,
    Link,
    PasswordIssued,
    TransferOption,
    TransferOptions,
)
from services.contracts.store import ContractsStore
from shared.auth import COMPANY_ADMIN, SUB_ADMIN, Principal
from shared.errors import NotFound
from shared.pagination import decode_cursor, encode_cursor
from shared.phones import phone_key

# What a mobile-number login may do with its number's contract (seed 002: the number's
# functions, read here; changes are made with a company login).
PHONE_LOGIN_RIGHTS = ("view",)


def _summary(c: Held) -> dict[str, str | None]:
    return {"contract_id": c.contract_id, "product": c.product, "segment": c.segment,
            "access_number": c.access_number, "status": c.status}


def _visible(number: CustomerNumber, c: Held, rights: Iterable[str], via: str) -> Contract:
    return Contract(**_summary(c), customer_number=number.id, kind=number.kind,
                    rights=ordered(tuple(rights)), via=via)


def _sorted(views: Iterable[Contract]) -> list[Contract]:
    return sorted(views, key=lambda v: (v.customer_number, v.contract_id))


# -- links -------------------------------------------------------------------------------------
def link_view(number: CustomerNumber, link: HeldLink) -> Link:
    return Link(customer_number=number.id, kind=number.kind, link_type=link.link_type,
                stale=link.stale, linked_at=link.linked_at, rights=list(link.rights),
                contracts=[_summary(c) for c in number.covered_contracts(link)])


def link_of(number: CustomerNumber, company_id: str) -> Link:
    """The company's link as saved by a use case."""
    link = number.link_of(company_id)
    if link is None:
        raise errors.LinkNotFound(f"Your company has no link to customer number {number.id}.")
    return link_view(number, link)


async def links(store: ContractsStore, company_id: str) -> list[Link]:
    out = []
    for number in await store.linked_numbers(company_id):
        link = number.link_of(company_id)
        if link is not None:
            out.append(link_view(number, link))
    return out


def password_issued(number: CustomerNumber) -> PasswordIssued:
    if number.otp is None:
        raise ValueError("the number has no password")
    return PasswordIssued(customer_number=number.id, expires_at=number.otp.expires_at)


# -- contracts ---------------------------------------------------------------------------------
async def company_contracts(store: ContractsStore, company_id: str) -> dict[str, Contract]:
    """Contracts the company holds rights for through its own links."""
    out: dict[str, Contract] = {}
    for number in await store.linked_numbers(company_id):
        link = number.link_of(company_id)
        if link is None:
            continue
        for c in number.covered_contracts(link):
            out[c.contract_id] = _visible(number, c, link.rights, link.link_type)
    return out


async def received_transfers(store: ContractsStore, principal: Principal) -> dict[str, Contract]:
    """Contracts other companies' master administrators transferred to this user (CON-5),
    as long as the giving company still holds the number as contract holder."""
    out: dict[str, Contract] = {}
    docs = await store.transfers.collection.find(
        {"to_user_id": principal.subject}).to_list(None)
    for t in (PermissionTransfer.model_validate(d) for d in docs):
        if t.to_company_id != principal.company_id:
            continue
        for item in t.contracts:
            number = await store.numbers.get({"_id": item.customer_number})
            if number is None or number.holder_company_id != t.from_company_id:
                continue
            contract = number.contract(item.contract_id)
            if contract is not None:
                out[contract.contract_id] = _visible(number, contract, TRANSFERABLE_RIGHTS,
                                                     "transfer")
    return out


def phone_contracts(own: dict[str, Contract], phone: str) -> list[Contract]:
    """ID-6: of the company's contracts, the active ones running on the login's number."""
    out = []
    for v in own.values():
        if (v.status == "active" and v.access_number
                and phone_key(v.access_number) == phone):
            rights = set(v.rights) & set(PHONE_LOGIN_RIGHTS)
            if rights:
                out.append(v.model_copy(update={"rights": ordered(rights),
                                                "via": "phone_login"}))
    return _sorted(out)


async def visible_contracts(store: ContractsStore, principal: Principal) -> list[Contract]:
    """The contracts the caller sees, with the caller's rights on each (see the module)."""
    own = await company_contracts(store, principal.company_id or "")
    if principal.phone is not None:
        return phone_contracts(own, principal.phone)
    if COMPANY_ADMIN in principal.roles:
        merged = dict(own)
        for cid, v in (await received_transfers(store, principal)).items():
            if cid in merged:
                merged[cid] = merged[cid].model_copy(
                    update={"rights": ordered({*merged[cid].rights, *v.rights})})
            else:
                merged[cid] = v
        return _sorted(merged.values())
    if SUB_ADMIN in principal.roles:
        assigned = await store.assignments.get(
            {"_id": f"{principal.company_id}:{principal.subject}"})
        out = []
        for item in assigned.contracts if assigned is not None else []:
            if item.contract_id in own:
                v = own[item.contract_id]
                rights = set(v.rights) & set(item.rights)
                if rights:
                    out.append(v.model_copy(update={"rights": ordered(rights),
                                                    "via": "assignment"}))
        return _sorted(out)
    return []


async def visible_contract(store: ContractsStore, principal: Principal,
                           contract_id: str) -> Contract:
    for v in await visible_contracts(store, principal):
        if v.contract_id == contract_id:
            return v
    raise errors.ContractNotVisible(f"You hold no rights for contract {contract_id}.")


async def contract_space(store: ContractsStore, principal: Principal) -> ContractSpace:
    """The company's contract space as the caller may see it: the customer numbers and
    contracts the caller holds rights on (a master administrator: every linked number)."""
    space: Space | None = await store.spaces.get({"_id": principal.company_id,
                                                  "company_id": principal.company_id})
    if space is None:
        raise NotFound("This company has no contract space yet.")
    contracts = await visible_contracts(store, principal)
    numbers = {v.customer_number for v in contracts}
    if COMPANY_ADMIN in principal.roles and principal.phone is None:
        numbers |= {n.id for n in await store.linked_numbers(principal.company_id or "")}
    return ContractSpace(company_id=space.company_id, company_name=space.company_name,
                         customer_numbers=sorted(numbers), contracts=contracts,
                         opened_at=space.opened_at)


# -- permission transfer (CON-5) and sub-administrators (CON-6) --------------------------------
async def transfer_options(store: ContractsStore, *, company_id: str,
                           target: ProjectedUser) -> TransferOptions:
    """The found administrator and the contracts that can be ticked (ticked = transferred)."""
    numbers = await store.linked_numbers(company_id)
    options = transferable(numbers, company_id)
    held = {c.contract_id: c for n in numbers for c in n.contracts}
    current = await store.transfers.get({"_id": f"{company_id}:{target.id}"})
    ticked = current.contract_ids if current is not None else set()
    return TransferOptions(
        administrator=Administrator(user_id=target.user_id, first_name=target.first_name,
                                    surname=target.surname, email=target.email),
        rights=list(TRANSFERABLE_RIGHTS),
        contracts=[TransferOption(**_summary(held[cid]), customer_number=o.customer_number,
                                  transferred=cid in ticked)
                   for cid, o in sorted(options.items())])


def assignment_view(assignment: SubAdminAssignment) -> AssignmentOut:
    return AssignmentOut(user_id=assignment.user_id, contracts=[
        AssignedContract.model_validate(c.to_doc()) for c in assignment.contracts])


async def sub_admin_contracts(store: ContractsStore, *, company_id: str,
                              user_id: str) -> AssignmentOut:
    check_sub_administrator(await store.users.get({"_id": user_id, "company_id": company_id}),
                            user_id, SUB_ADMIN)
    assigned = await store.assignments.get({"_id": f"{company_id}:{user_id}"})
    if assigned is None:
        return AssignmentOut(user_id=user_id, contracts=[])
    return assignment_view(assigned)


# -- authorised contacts (CON-7) ---------------------------------------------------------------
def contact_view(contact: AuthorisedContact) -> Contact:
    return Contact.model_validate(contact.details().to_doc())


async def _check_holder(store: ContractsStore, company_id: str, number: str) -> None:
    check_names_contacts(
        await store.numbers.get({"_id": number, "linked_companies": company_id}),
        customer_number=number, company_id=company_id)


async def list_contacts(store: ContractsStore, *, company_id: str, number: str) -> ContactList:
    await _check_holder(store, company_id, number)
    docs = await store.contacts.collection.find(
        {"company_id": company_id, "customer_number": number}).sort("email", 1).to_list(None)
    return ContactList(contacts=[contact_view(AuthorisedContact.model_validate(d))
                                 for d in docs])


async def contact_history(store: ContractsStore, *, number: str, company_id: str | None,
                          limit: int, cursor: str | None) -> ContactHistory:
    """Every change of the number's authorised contacts, newest first; ``company_id`` None
    (support): of every company that named contacts for the number. Entries whose second
    write has not happened (yet) are read from their contact's ``last_change``."""
    scope: dict[str, str] = {"customer_number": number}
    if company_id is not None:
        await _check_holder(store, company_id, number)
        scope["company_id"] = company_id
    below = decode_cursor(cursor) if cursor else None
    query = {**scope, **({"sort_key": {"$lt": below}} if below else {})}
    stored = await store.contact_history.find(query).sort("sort_key", -1).limit(
        limit + 1).to_list()
    live = [AuthorisedContact.model_validate(d)
            for d in await store.contacts.collection.find(scope).to_list(None)]
    live_ids = {c.id for c in live}
    entries = {e.entry_id: e for e in (ContactChange.model_validate(d) for d in stored)}
    for c in live:
        e = c.last_change
        if e is not None and (below is None or e.sort_key < below):
            entries.setdefault(e.entry_id, e)
    shown = sorted((e for e in entries.values()
                    if not (e.action == "removed" and e.contact_id in live_ids)),
                   key=lambda e: e.sort_key, reverse=True)
    page = shown[:limit]
    more = len(shown) > limit
    return ContactHistory(
        items=[ContactChangeOut.model_validate(e.to_doc()) for e in page],
        next_cursor=encode_cursor(page[-1].sort_key) if more and page else None)


async def may_act(store: ContractsStore, *, number: str, email: str, action: str,
                  on: date | None = None) -> AuthorisationAnswer:
    """Support's question: may this person do this for this customer? Yes or no, and why."""
    on = on or datetime.now(UTC).date()
    email = email.strip().lower()
    found = await store.numbers.get({"_id": number})
    holder = found.holder_company_id if found is not None else ""
    is_admin, contact = False, None
    if holder:
        users = await store.users_by_email(email, company_id=holder, limit=20)
        is_admin = any(u.active and COMPANY_ADMIN in u.roles for u in users)
        contact = await store.contacts.get(
            {"company_id": holder, "customer_number": number, "email": email})
    a = answer(customer_number=number, known=found is not None, holder_company_id=holder,
               action=action, on=on, is_master_admin=is_admin, contact=contact)
    shown = contact is not None and a.reason_code != "master-administrator"
    return AuthorisationAnswer(
        customer_number=number, email=email, action=action, on=on, allowed=a.allowed,
        reason_code=a.reason_code, reason=a.reason,
        contact=contact_view(contact) if shown and contact is not None else None)
