"""contracts' HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.contracts import handlers, linking, views
from services.contracts.domain.rights import Right
from services.contracts.handlers import PasswordPolicy
from services.contracts.store import ContractsStore
from shared.auth import COMPANY_ADMIN, PHONE_CONTRACTS, SUB_ADMIN, Access, Principal
from shared.http import Routes
from shared.parsing import UniqueList

routes = Routes()
STORE = web.AppKey("contracts_store", ContractsStore)
POLICY = web.AppKey("contracts_password_policy", PasswordPolicy)
ATTEMPTS = web.AppKey("contracts_link_attempts", linking.LinkAttempts)

# Linking, transferring and naming contacts is the master administrator's (seed 001).
ADMINS = Access.of(roles=(COMPANY_ADMIN,))
# A mobile-number login sees its own number's contracts when its company allows it (ID-6).
CONTRACT_VIEWERS = Access.of(roles=(COMPANY_ADMIN, SUB_ADMIN), scopes=("contracts:read",),
                             phone_permission=PHONE_CONTRACTS)
SPACE_VIEWERS = Access.of(scopes=("contracts:read",), phone_permission=PHONE_CONTRACTS)
SUPPORT = Access.of(scopes=("contracts:support",), users=False)

CustomerNumber = Field(min_length=3, max_length=32, pattern=r"^[0-9A-Za-z][0-9A-Za-z-]*$")
Kind = Literal["landline", "mobile"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContractSummary(BaseModel):
    contract_id: str
    product: str
    segment: str
    access_number: str | None = None
    status: str


class LinkRequest(Strict):
    customer_number: str = CustomerNumber
    one_time_password: str = Field(min_length=4, max_length=64)
    # holder: every contract under the number, full rights; user: one contract, limited.
    link_type: Literal["holder", "user"] = "holder"
    contract_id: str | None = Field(None, min_length=1, max_length=64)
    access_number: str | None = Field(None, min_length=3, max_length=32)


class Link(BaseModel):
    customer_number: str
    kind: Kind
    link_type: Literal["holder", "user"]
    # Every contract it covers is terminated: delete the link (seed 003).
    stale: bool
    linked_at: datetime
    rights: list[str]
    contracts: list[ContractSummary]


class Links(BaseModel):
    links: list[Link]


class Contract(ContractSummary):
    customer_number: str
    kind: Kind
    rights: list[str]
    # holder / user link, "transfer" from another company, "assignment" for sub-administrators
    via: str


class Contracts(BaseModel):
    contracts: list[Contract]


class ContractSpace(BaseModel):
    company_id: str
    company_name: str
    # The numbers and contracts the caller holds rights on (a master administrator: every
    # linked number).
    customer_numbers: list[str]
    contracts: list[Contract]
    opened_at: datetime


class PasswordIssued(BaseModel):
    customer_number: str
    expires_at: datetime


class AdministratorSearch(Strict):
    email: EmailStr
    customer_number: str = CustomerNumber
    kind: Kind = "landline"


class TransferSave(AdministratorSearch):
    # The ticked contracts; a contract ticked before and missing now is revoked.
    contract_ids: UniqueList[str] = Field(max_length=1000)


class Administrator(BaseModel):
    user_id: str
    first_name: str | None = None
    surname: str | None = None
    email: str


class TransferOption(ContractSummary):
    customer_number: str
    transferred: bool


class TransferOptions(BaseModel):
    administrator: Administrator
    rights: list[str]
    contracts: list[TransferOption]


class AssignedContract(Strict):
    contract_id: str = Field(min_length=1, max_length=64)
    # Omitted: every right the company holds on it except "commercial contact".
    rights: UniqueList[Right] | None = Field(None, min_length=1)


class Assignment(Strict):
    contracts: list[AssignedContract] = Field(max_length=1000)


class AssignmentOut(BaseModel):
    user_id: str
    contracts: list[AssignedContract]


def _number(request: web.Request) -> str:
    return request.match_info["customer_number"]


@routes.get("/v1/contract-space", response=ContractSpace, access=SPACE_VIEWERS,
            tags=("contract space",), problems=(404,))
async def get_contract_space(request: web.Request, principal: Principal) -> ContractSpace:
    """The calling company's contract space as the caller may see it: the customer numbers
    and contracts the caller holds rights on. Master administrators see every linked number;
    sub-administrators their assigned contracts; a mobile-number login its number's
    contracts (`own_number:read`); other users nothing."""
    return ContractSpace(**await views.contract_space(request.app[STORE], principal))


# -- links (CON-2, CON-3, CON-4) ---------------------------------------------------------------
@routes.post("/v1/links", body=LinkRequest, response=Link, status=201, access=ADMINS,
             tags=("links",), problems=(404, 409, 410, 422, 429))
async def link_customer_number(request: web.Request, body: LinkRequest,
                               principal: Principal) -> Link:
    """Link a customer number to your company with its one-time password (seed 001
    "Festnetz-Kundennummer verbinden"). An unknown number and a wrong password get the same
    422; the reasons a link can not be made are told only once the password proved right."""
    link = await linking.link_customer_number(
        request.app[STORE], request.app[POLICY], request.app[ATTEMPTS],
        company_id=principal.company_id,
        user_id=principal.subject, number=body.customer_number,
        password=body.one_time_password, link_type=body.link_type,
        contract_id=body.contract_id, access_number=body.access_number)
    return Link(**link)


@routes.get("/v1/links", response=Links, access=ADMINS, tags=("links",))
async def list_links(request: web.Request, principal: Principal) -> Links:
    """Your company's links, each marked stale when all its contracts are terminated."""
    return Links(links=await handlers.links(request.app[STORE], principal.company_id))


@routes.delete("/v1/links/{customer_number}", access=ADMINS, tags=("links",), problems=(404,))
async def delete_link(request: web.Request, principal: Principal) -> None:
    """Delete your company's link to a customer number (e.g. a stale or a user link)."""
    await handlers.unlink_customer_number(request.app[STORE], company_id=principal.company_id,
                                          number=_number(request))


# -- contracts (CON-2, CON-5, CON-6) -----------------------------------------------------------
@routes.get("/v1/contracts", response=Contracts, access=CONTRACT_VIEWERS, tags=("contracts",))
async def list_contracts(request: web.Request, principal: Principal) -> Contracts:
    """The contracts you hold rights for, with the rights (sub-administrators: those
    assigned to them; a mobile-number login: its number's contracts, to view)."""
    return Contracts(contracts=await views.visible_contracts(request.app[STORE], principal))


@routes.get("/v1/contracts/{contract_id}", response=Contract, access=CONTRACT_VIEWERS,
            tags=("contracts",), problems=(404,))
async def get_contract(request: web.Request, principal: Principal) -> Contract:
    """One contract you hold rights for."""
    return Contract(**await views.visible_contract(
        request.app[STORE], principal, request.match_info["contract_id"]))


# -- permission transfer (CON-5) ---------------------------------------------------------------
@routes.post("/v1/permission-transfers/search", body=AdministratorSearch,
             response=TransferOptions, access=ADMINS, tags=("permission transfer",),
             problems=(404, 409))
async def search_administrator(request: web.Request, body: AdministratorSearch,
                               principal: Principal) -> TransferOptions:
    """Find another master administrator by email and customer number; shows which of your
    contracts are transferred to them (seed 001 "Festnetz-Berechtigungen übertragen")."""
    store = request.app[STORE]
    target = await handlers.find_master_administrator(
        store, company_id=principal.company_id, email=body.email,
        number=body.customer_number, kind=body.kind)
    return TransferOptions(**await handlers.transfer_options(
        store, company_id=principal.company_id, target=target))


@routes.put("/v1/permission-transfers", body=TransferSave, response=TransferOptions,
            access=ADMINS, tags=("permission transfer",), problems=(404, 409))
async def save_transfers(request: web.Request, body: TransferSave,
                         principal: Principal) -> TransferOptions:
    """Save the ticks: ticked contracts are transferred (every right except commercial
    contact), unticked ones revoked."""
    store = request.app[STORE]
    target = await handlers.find_master_administrator(
        store, company_id=principal.company_id, email=body.email,
        number=body.customer_number, kind=body.kind)
    return TransferOptions(**await handlers.save_transfers(
        store, company_id=principal.company_id, target=target,
        contract_ids=body.contract_ids))


# -- sub-administrators (CON-6) ----------------------------------------------------------------
@routes.get("/v1/sub-administrators/{user_id}/contracts", response=AssignmentOut,
            access=ADMINS, tags=("sub-administrators",), problems=(404,))
async def get_assignment(request: web.Request, principal: Principal) -> AssignmentOut:
    """The contracts a sub-administrator may see and manage."""
    return AssignmentOut(**await handlers.sub_admin_contracts(
        request.app[STORE], company_id=principal.company_id,
        user_id=request.match_info["user_id"]))


@routes.put("/v1/sub-administrators/{user_id}/contracts", body=Assignment,
            response=AssignmentOut, access=ADMINS, tags=("sub-administrators",),
            problems=(404,))
async def put_assignment(request: web.Request, body: Assignment,
                         principal: Principal) -> AssignmentOut:
    """Set the contracts (and the rights on each) a sub-administrator may see and manage."""
    return AssignmentOut(**await handlers.assign_sub_admin_contracts(
        request.app[STORE], company_id=principal.company_id,
        user_id=request.match_info["user_id"],
        contracts=[c.model_dump() for c in body.contracts]))


# -- support (CON-1; CON-7's routes: contacts_http.py) -----------------------------------------
@routes.post("/v1/support/customer-numbers/{customer_number}/one-time-password",
             response=PasswordIssued, status=201, access=SUPPORT, tags=("support",),
             problems=(404, 409))
async def reissue_password(request: web.Request, principal: Principal) -> PasswordIssued:
    """Issue a new one-time password (the old one expired, was used or is locked); the
    customer gets it by email."""
    return PasswordIssued(**await handlers.reissue_password(
        request.app[STORE], request.app[POLICY], _number(request)))


from services.contracts import contacts_http  # noqa: E402,F401  (adds the CON-7 routes)
