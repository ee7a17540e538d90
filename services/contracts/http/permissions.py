"""contracts' routes of rights passed on: to another company's master administrator (CON-5)
and to the company's own sub-administrators (CON-6)."""

from __future__ import annotations

from aiohttp import web

from services.contracts import views
from services.contracts.domain.commands import AssignContracts, FindAdministrator, SaveTransfers
from services.contracts.handlers import permissions
from services.contracts.http.access import ADMINS, company, contracts
from services.contracts.http.models import (
    AdministratorSearch,
    Assignment,
    AssignmentOut,
    SubAdministratorPath,
    TransferOptions,
    TransferSave,
)
from shared.auth import Principal
from shared.http import Routes

routes = Routes()


def _search(body: AdministratorSearch, principal: Principal) -> FindAdministrator:
    return FindAdministrator(company_id=company(principal), email=body.email,
                                         customer_number=body.customer_number, kind=body.kind)


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
    uow = contracts(request)
    target = await permissions.find_master_administrator(_search(body, principal), uow)
    return await views.transfer_options(uow.store, company_id=company(principal),
                                        target=target)


@routes.put("/v1/permission-transfers", body=TransferSave, response=TransferOptions,
            access=ADMINS, tags=("permission transfer",), problems=(404, 409, 422))
async def save_transfers(request: web.Request, body: TransferSave,
                         principal: Principal) -> TransferOptions:
    """Save the permission transfers

    Saves the ticks for the administrator found: ticked contracts are transferred (every
    right except commercial contact; the administrator gets an email), unticked ones
    revoked. Master administrators only. 422 `contracts-not-transferable` for contracts
    your company does not hold as active landline contract holder."""
    uow = contracts(request)
    target = await permissions.save_transfers(SaveTransfers(
        _search(body, principal), list(body.contract_ids)), uow)
    return await views.transfer_options(uow.store, company_id=company(principal),
                                        target=target)


# -- sub-administrators (CON-6) ----------------------------------------------------------------
@routes.get("/v1/sub-administrators/{user_id}/contracts", response=AssignmentOut,
            path_params=SubAdministratorPath, access=ADMINS, tags=("sub-administrators",),
            problems=(404,))
async def get_assignment(request: web.Request, principal: Principal) -> AssignmentOut:
    """Read a sub-administrator's contracts

    The contracts (and the rights on each) a sub-administrator of your company may see and
    manage. Master administrators only. 404 `sub-administrator-not-found`."""
    return await views.sub_admin_contracts(contracts(request).store,
                                           company_id=company(principal),
                                           user_id=request.match_info["user_id"])


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
    assigned = await permissions.assign_contracts(AssignContracts(
        company_id=company(principal), user_id=request.match_info["user_id"],
        contracts=[(c.contract_id, list(c.rights) if c.rights else None)
                   for c in body.contracts]), contracts(request))
    return views.assignment_view(assigned)
