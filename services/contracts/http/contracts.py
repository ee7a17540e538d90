"""contracts' routes of the contract space, the links to customer numbers (CON-2, CON-3,
CON-4) and the contracts a caller holds rights for (CON-2, CON-5, CON-6)."""

from __future__ import annotations

from aiohttp import web

from services.contracts import views
from services.contracts.domain.commands import LinkCustomerNumber, UnlinkCustomerNumber
from services.contracts.handlers import links
from services.contracts.http.access import (
    ADMINS,
    CONTRACT_VIEWERS,
    SPACE_VIEWERS,
    company,
    contracts,
    customer_number,
)
from services.contracts.http.models import (
    Contract,
    ContractPath,
    Contracts,
    ContractSpace,
    CustomerNumberPath,
    Link,
    LinkRequest,
    Links,
)
from shared.auth import Principal
from shared.http import Routes

routes = Routes()



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
    return await views.contract_space(contracts(request).store, principal)


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
    saved = await links.link_customer_number(LinkCustomerNumber(
        company_id=company(principal), user_id=principal.subject,
        customer_number=body.customer_number, password=body.one_time_password,
        link_type=body.link_type, contract_id=body.contract_id,
        access_number=body.access_number), contracts(request))
    return views.link_of(saved, company(principal))


@routes.get("/v1/links", response=Links, access=ADMINS, tags=("links",))
async def list_links(request: web.Request, principal: Principal) -> Links:
    """List your company's links

    Every customer number your company linked, with the contracts each covers and the
    rights it gives; a link is marked `stale` when all its contracts are terminated.
    Master administrators only."""
    return Links(links=await views.links(contracts(request).store, company(principal)))


@routes.delete("/v1/links/{customer_number}", path_params=CustomerNumberPath, access=ADMINS,
               tags=("links",), problems=(404, 409))
async def delete_link(request: web.Request, principal: Principal) -> None:
    """Delete a link

    Deletes your company's link to a customer number (for example a stale link or a user
    link); the rights it gave end with it. Master administrators only. 404 `link-not-found`
    when your company has no link to the number."""
    await links.unlink_customer_number(UnlinkCustomerNumber(
        company_id=company(principal), customer_number=customer_number(request)),
        contracts(request))


# -- contracts (CON-2, CON-5, CON-6) -----------------------------------------------------------
@routes.get("/v1/contracts", response=Contracts, access=CONTRACT_VIEWERS, tags=("contracts",))
async def list_contracts(request: web.Request, principal: Principal) -> Contracts:
    """List the contracts you hold rights for

    The contracts you hold rights for, with the rights and how you hold them. Master
    administrators: every contract under the company's links and those transferred to them;
    sub-administrators: those assigned to them; a mobile-number login whose company allows it
    (`own_number:read`): its number's contracts, to view. Also clients with
    `contracts:read`."""
    return Contracts(contracts=await views.visible_contracts(contracts(request).store,
                                                             principal))


@routes.get("/v1/contracts/{contract_id}", response=Contract, path_params=ContractPath,
            access=CONTRACT_VIEWERS, tags=("contracts",), problems=(404,))
async def get_contract(request: web.Request, principal: Principal) -> Contract:
    """Read one contract you hold rights for

    The contract with your rights on it, for the same callers as the list. 404
    `contract-not-found` for a contract you hold no rights for, whether it exists or not."""
    return await views.visible_contract(contracts(request).store, principal,
                                        request.match_info["contract_id"])
