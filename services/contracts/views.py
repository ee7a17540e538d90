"""contracts' read side: which customer numbers and contracts a caller sees, with which
rights (CON-2, CON-3, CON-5, CON-6), and the contract space showing them (issue 11).

- a master administrator: every contract under the company's links and those transferred to
  them by other companies (CON-5); the space lists every linked number;
- a sub-administrator: the contracts assigned, with the rights assigned (CON-6);
- a mobile-number login (ID-6): the active contracts whose access number is that number,
  under the company's own links, to view only;
- any other user: nothing.
"""

from __future__ import annotations

from typing import Any

from services.contracts.domain import customer_numbers as cn
from services.contracts.domain import errors
from services.contracts.domain.rights import TRANSFERABLE_RIGHTS, ordered
from services.contracts.store import ContractsStore
from shared.auth import COMPANY_ADMIN, SUB_ADMIN, Principal, canonical_phone
from shared.errors import NotFound

# What a mobile-number login may do with its number's contract (seed 002: the number's
# functions, read here; changes are made with a company login).
PHONE_LOGIN_RIGHTS = ("view",)


def contract_view(c: dict[str, Any]) -> dict[str, Any]:
    return {k: c.get(k) for k in ("contract_id", "product", "segment", "access_number",
                                  "status")}


def _visible(doc: dict[str, Any], c: dict[str, Any], rights, via: str) -> dict[str, Any]:
    return {**contract_view(c), "customer_number": doc["_id"], "kind": doc["kind"],
            "rights": ordered(rights), "via": via}


def _sorted(views) -> list[dict[str, Any]]:
    return sorted(views, key=lambda v: (v["customer_number"], v["contract_id"]))


async def company_contracts(store: ContractsStore,
                            company_id: str) -> dict[str, dict[str, Any]]:
    """Contracts the company holds rights for through its own links."""
    out: dict[str, dict[str, Any]] = {}
    for doc in await store.linked_numbers(company_id):
        link = cn.link_of(doc, company_id)
        if link is None:
            continue
        for c in cn.covered_contracts(doc, link):
            out[c["contract_id"]] = _visible(doc, c, cn.link_rights(link), link["link_type"])
    return out


async def received_transfers(store: ContractsStore, principal: Principal) -> dict[str, dict]:
    """Contracts other companies' master administrators transferred to this user (CON-5),
    as long as the giving company still holds the number as contract holder."""
    out: dict[str, dict[str, Any]] = {}
    docs = await store.transfers.collection.find(
        {"to_user_id": principal.subject}).to_list(None)
    for t in docs:
        if t["to_company_id"] != principal.company_id:
            continue
        for item in t["contracts"]:
            number = await store.numbers.get({"_id": item["customer_number"]})
            if number is None or number["holder_company_id"] != t["from_company_id"]:
                continue
            contract = next((c for c in number["contracts"]
                             if c["contract_id"] == item["contract_id"]), None)
            if contract is not None:
                out[contract["contract_id"]] = _visible(number, contract, TRANSFERABLE_RIGHTS,
                                                        "transfer")
    return out


def phone_contracts(own: dict[str, dict[str, Any]], phone: str) -> list[dict[str, Any]]:
    """ID-6: of the company's contracts, the active ones running on the login's number."""
    out = []
    for v in own.values():
        if (v["status"] == cn.ACTIVE and v.get("access_number")
                and canonical_phone(v["access_number"]) == phone):
            rights = set(v["rights"]) & set(PHONE_LOGIN_RIGHTS)
            if rights:
                out.append({**v, "rights": ordered(rights), "via": "phone_login"})
    return _sorted(out)


async def visible_contracts(store: ContractsStore, principal: Principal) -> list[dict[str, Any]]:
    """The contracts the caller sees, with the caller's rights on each (see the module)."""
    own = await company_contracts(store, principal.company_id)
    if principal.phone is not None:
        return phone_contracts(own, principal.phone)
    if COMPANY_ADMIN in principal.roles:
        merged = dict(own)
        for cid, v in (await received_transfers(store, principal)).items():
            if cid in merged:
                merged[cid] = {**merged[cid],
                               "rights": ordered({*merged[cid]["rights"], *v["rights"]})}
            else:
                merged[cid] = v
        return _sorted(merged.values())
    if SUB_ADMIN in principal.roles:
        assigned = await store.assignments.get(
            {"_id": f"{principal.company_id}:{principal.subject}"})
        out = []
        for item in (assigned or {}).get("contracts", []):
            if item["contract_id"] in own:
                v = own[item["contract_id"]]
                rights = set(v["rights"]) & set(item["rights"])
                if rights:
                    out.append({**v, "rights": ordered(rights), "via": "assignment"})
        return _sorted(out)
    return []


async def visible_contract(store: ContractsStore, principal: Principal,
                           contract_id: str) -> dict[str, Any]:
    for v in await visible_contracts(store, principal):
        if v["contract_id"] == contract_id:
            return v
    raise errors.ContractNotVisible(f"You hold no rights for contract {contract_id}.")


async def contract_space(store: ContractsStore, principal: Principal) -> dict[str, Any]:
    """The company's contract space as the caller may see it: the customer numbers and
    contracts the caller holds rights on (a master administrator: every linked number)."""
    space = await store.spaces.get({"_id": principal.company_id,
                                    "company_id": principal.company_id})
    if space is None:
        raise NotFound("This company has no contract space yet.")
    contracts = await visible_contracts(store, principal)
    numbers = {v["customer_number"] for v in contracts}
    if COMPANY_ADMIN in principal.roles and principal.phone is None:
        numbers |= {d["_id"] for d in await store.linked_numbers(principal.company_id)}
    return {**space, "customer_numbers": sorted(numbers), "contracts": contracts}
