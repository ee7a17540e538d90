"""contracts' HTTP API."""

from __future__ import annotations

from aiohttp import web

from services.contracts import handlers, linking, views
from services.contracts.handlers import PasswordPolicy
from services.contracts.http_models import (
    AdministratorSearch,
    Assignment,
    AssignmentOut,
    Contract,
    ContractPath,
    Contracts,
    ContractSpace,
    CustomerNumberPath,
    Link,
    LinkRequest,
    Links,
    PasswordIssued,
    SubAdministratorPath,
    TransferOptions,
    TransferSave,
)
from services.contracts.store import ContractsStore
from shared.auth import COMPANY_ADMIN, PHONE_CONTRACTS, SUB_ADMIN, Access, Principal
from shared.http import Routes

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


def _number(request: web.Request) -> str:
    return request.match_info["customer_number"]


@routes.get("/v1/contract-space", response=ContractSpace, access=SPACE_VIEWERS,
            tags=("contract space",), problems=(404,))
async def get_contract_space(request: web.Request, principal: Principal) -> ContractSpace:
    """Read your contract space

    The calling company's contract space as the caller may see it: the customer numbers and
    contracts the caller holds rights on. Master administrators see every linked number and
    the contracts transferred to them; sub-administrators their assigned contracts; a
    mobile-number login whose company allows it its number's contracts
    (`own_number:read`); other users an empty space. Any signed-in user (or a client with
    `contracts:read`). 404 until the space is opened, a moment after the registration."""
    return ContractSpace(**await views.contract_space(request.app[STORE], principal))


# -- links (CON-2, CON-3, CON-4) ---------------------------------------------------------------
@routes.post("/v1/links", body=LinkRequest, response=Link, status=201, access=ADMINS,
             tags=("links",), problems=(404, 409, 410, 422, 429))
async def link_customer_number(request: web.Request, body: LinkRequest,
                               principal: Principal) -> Link:
    """Link a customer number to your company

    Links a landline or mobile customer number with the one-time password from its letter
    or email: as contract holder (every contract, every right) or as user (one contract or
    phone number, to view and make technical changes). Master administrators only. An
    unknown number and a wrong password get the same 422 `wrong-one-time-password` with the
    attempts left; after too many wrong passwords the number is locked for your company and
    too many wrong tries per hour are refused (429). Only once the password proved right are
    the reasons a link can not be made told: 410 `one-time-password-expired`, 409
    `one-time-password-used`, `customer-number-linked-elsewhere`, `already-linked`,
    `private-customer-number`, `mixed-customer-number`, `contract-terminated`; 404
    `unknown-contract` for a user link's contract."""
    link = await linking.link_customer_number(
        request.app[STORE], request.app[POLICY], request.app[ATTEMPTS],
        company_id=principal.company_id,
        user_id=principal.subject, number=body.customer_number,
        password=body.one_time_password, link_type=body.link_type,
        contract_id=body.contract_id, access_number=body.access_number)
    return Link(**link)


@routes.get("/v1/links", response=Links, access=ADMINS, tags=("links",))
async def list_links(request: web.Request, principal: Principal) -> Links:
    """List your company's links

    Every customer number your company linked, with the contracts each covers and the
    rights it gives; a link is marked `stale` when all its contracts are terminated.
    Master administrators only."""
    return Links(links=await handlers.links(request.app[STORE], principal.company_id))


@routes.delete("/v1/links/{customer_number}", path_params=CustomerNumberPath, access=ADMINS,
               tags=("links",), problems=(404, 409))
async def delete_link(request: web.Request, principal: Principal) -> None:
    """Delete a link

    Deletes your company's link to a customer number (for example a stale link or a user
    link); the rights it gave end with it. Master administrators only. 404 `link-not-found`
    when your company has no link to the number."""
    await handlers.unlink_customer_number(request.app[STORE], company_id=principal.company_id,
                                          number=_number(request))


# -- contracts (CON-2, CON-5, CON-6) -----------------------------------------------------------
@routes.get("/v1/contracts", response=Contracts, access=CONTRACT_VIEWERS, tags=("contracts",))
async def list_contracts(request: web.Request, principal: Principal) -> Contracts:
    """List the contracts you hold rights for

    The contracts you hold rights for, with the rights and how you hold them. Master
    administrators: every contract under the company's links and those transferred to them;
    sub-administrators: those assigned to them; a mobile-number login whose company allows it
    (`own_number:read`): its number's contracts, to view. Also clients with
    `contracts:read`."""
    return Contracts(contracts=await views.visible_contracts(request.app[STORE], principal))


@routes.get("/v1/contracts/{contract_id}", response=Contract, path_params=ContractPath,
            access=CONTRACT_VIEWERS, tags=("contracts",), problems=(404,))
async def get_contract(request: web.Request, principal: Principal) -> Contract:
    """Read one contract you hold rights for

    The contract with your rights on it, for the same callers as the list. 404
    `contract-not-found` for a contract you hold no rights for, whether it exists or not."""
    return Contract(**await views.visible_contract(
        request.app[STORE], principal, request.match_info["contract_id"]))


# -- permission transfer (CON-5) ---------------------------------------------------------------
@routes.post("/v1/permission-transfers/search", body=AdministratorSearch,
             response=TransferOptions, access=ADMINS, tags=("permission transfer",),
             problems=(404, 409))
async def search_administrator(request: web.Request, body: AdministratorSearch,
                               principal: Principal) -> TransferOptions:
    """Find a master administrator to transfer permissions to

    Finds another company's master administrator by email address and a customer number
    their company linked, and shows which of your active landline contracts (as contract
    holder) are transferred to them. Master administrators only. 404
    `master-administrator-not-found`; 409 `transfer-within-company` for an administrator of
    your own company."""
    store = request.app[STORE]
    target = await handlers.find_master_administrator(
        store, company_id=principal.company_id, email=body.email,
        number=body.customer_number, kind=body.kind)
    return TransferOptions(**await handlers.transfer_options(
        store, company_id=principal.company_id, target=target))


@routes.put("/v1/permission-transfers", body=TransferSave, response=TransferOptions,
            access=ADMINS, tags=("permission transfer",), problems=(404, 409, 422))
async def save_transfers(request: web.Request, body: TransferSave,
                         principal: Principal) -> TransferOptions:
    """Save the permission transfers

    Saves the ticks for the administrator found: ticked contracts are transferred (every
    right except commercial contact; the administrator gets an email), unticked ones
    revoked. Master administrators only. 422 `contracts-not-transferable` for contracts
    your company does not hold as active landline contract holder."""
    store = request.app[STORE]
    target = await handlers.find_master_administrator(
        store, company_id=principal.company_id, email=body.email,
        number=body.customer_number, kind=body.kind)
    return TransferOptions(**await handlers.save_transfers(
        store, company_id=principal.company_id, target=target,
        contract_ids=body.contract_ids))


# -- sub-administrators (CON-6) ----------------------------------------------------------------
@routes.get("/v1/sub-administrators/{user_id}/contracts", response=AssignmentOut,
            path_params=SubAdministratorPath, access=ADMINS, tags=("sub-administrators",),
            problems=(404,))
async def get_assignment(request: web.Request, principal: Principal) -> AssignmentOut:
    """Read a sub-administrator's contracts

    The contracts (and the rights on each) a sub-administrator of your company may see and
    manage. Master administrators only. 404 `sub-administrator-not-found`."""
    return AssignmentOut(**await handlers.sub_admin_contracts(
        request.app[STORE], company_id=principal.company_id,
        user_id=request.match_info["user_id"]))


@routes.put("/v1/sub-administrators/{user_id}/contracts", body=Assignment,
            path_params=SubAdministratorPath, response=AssignmentOut, access=ADMINS,
            tags=("sub-administrators",), problems=(404, 409, 422))
async def put_assignment(request: web.Request, body: Assignment,
                         principal: Principal) -> AssignmentOut:
    """Set a sub-administrator's contracts

    Replaces the contracts (and the rights on each) a sub-administrator may see and manage;
    omitted rights mean every right your company holds on the contract except commercial
    contact. Master administrators only. 422 `contracts-not-assignable` for contracts or
    rights your company does not hold; 404 `sub-administrator-not-found`."""
    return AssignmentOut(**await handlers.assign_sub_admin_contracts(
        request.app[STORE], company_id=principal.company_id,
        user_id=request.match_info["user_id"],
        contracts=[c.model_dump() for c in body.contracts]))


# -- support (CON-1; CON-7's routes: contacts_http.py) -----------------------------------------
@routes.post("/v1/support/customer-numbers/{customer_number}/one-time-password",
             path_params=CustomerNumberPath, response=PasswordIssued, status=201,
             access=SUPPORT, tags=("support",), problems=(404, 409))
async def reissue_password(request: web.Request, principal: Principal) -> PasswordIssued:
    """Issue a new one-time password (support)

    Issues a new one-time password for a customer number whose password expired, was used
    or is locked for a company; the customer gets it by email at the address on file and
    the old one stops working. Support clients (`contracts:support`) only. 404
    `unknown-customer-number`; 409 `one-time-password-still-valid` while the current one can
    still be used."""
    return PasswordIssued(**await handlers.reissue_password(
        request.app[STORE], request.app[POLICY], _number(request)))


from services.contracts import contacts_http  # noqa: E402,F401  (adds the CON-7 routes)
