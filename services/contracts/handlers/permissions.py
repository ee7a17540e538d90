"""Use cases of companies and their people: the contract space opened for a new company,
identity's users kept as this service needs them, rights transferred to another company's
master administrator (CON-5) and contracts assigned to a sub-administrator (CON-6)."""

from __future__ import annotations

from services.contracts.domain import errors
from services.contracts.domain.commands import (
    AssignContracts,
    FindAdministrator,
    OpenContractSpace,
    ProjectUser,
    SaveTransfers,
)
from services.contracts.domain.companies import (
    ContractSpace,
    ProjectedUser,
    check_sub_administrator,
)
from services.contracts.domain.permissions import (
    AssignedContract,
    PermissionTransfer,
    SubAdminAssignment,
    transferable,
)
from services.contracts.domain.rights import COMMERCIAL_CONTACT, ordered
from services.contracts.handlers import Contracts
from shared.auth import COMPANY_ADMIN, SUB_ADMIN


async def open_contract_space(cmd: OpenContractSpace, uow: Contracts) -> bool:
    """The company's contract space (its linked customer numbers), opened once."""
    return await uow.store.spaces.create_once(ContractSpace(
        id=cmd.company_id, company_id=cmd.company_id, company_name=cmd.company_name,
        customer_numbers=[], opened_at=uow.now(), opened_by_event=cmd.event_id))


async def project_user(cmd: ProjectUser, uow: Contracts) -> None:
    """Keep identity's user as this service needs it. A redelivered event changes nothing,
    and a field keeps the value of the newest event that set it (a retried older event
    arriving late — say "activated" after "deactivated" — does not undo a newer one)."""
    company_id = cmd.facts.get("company_id")
    await uow.store.users.change_or_create(
        cmd.user_id,
        lambda: ProjectedUser.first_seen(cmd.user_id, str(company_id or "")),
        lambda user: user.learn(cmd.facts, cmd.as_of), applied_event=cmd.event_id)


# -- permission transfer to another master administrator (CON-5) -------------------------------
async def find_master_administrator(cmd: FindAdministrator, uow: Contracts) -> ProjectedUser:
    """The master administrator with this email whose company holds rights for the number."""
    number = await uow.store.numbers.get({"_id": cmd.customer_number.strip()})
    for user in await uow.store.users_by_email(cmd.email.strip().lower()):
        if (user.active and COMPANY_ADMIN in user.roles
                and number is not None and number.kind == cmd.kind
                and user.company_id in number.linked_companies):
            if user.company_id == cmd.company_id:
                raise errors.TransferWithinCompany(
                    "This master administrator belongs to your own company and holds your "
                    "company's rights already.")
            return user
    raise errors.MasterAdministratorNotFound(
        "No master administrator with this email address holds rights for this "
        f"{'landline' if cmd.kind == 'landline' else 'mobile'} customer number. Check the "
        "email address and the customer number; the administrator must have linked at least "
        "one customer number first.")


async def save_transfers(cmd: SaveTransfers, uow: Contracts) -> ProjectedUser:
    """Ticked contracts are transferred, unticked ones revoked; one event per change. The
    administrator the transfers are for."""
    company_id = cmd.administrator.company_id
    target = await find_master_administrator(cmd.administrator, uow)
    options = transferable(await uow.store.linked_numbers(company_id), company_id)
    wanted = list(dict.fromkeys(cmd.contract_ids))
    refused = [c for c in wanted if c not in options]
    if refused:
        raise errors.ContractsNotTransferable(
            "Your company does not hold these contracts as active landline contract holder: "
            + ", ".join(refused) + ".", contract_ids=refused)

    def tick(transfer: PermissionTransfer) -> None:
        transfer.tick([options[c] for c in wanted], to_company_id=target.company_id,
                      to_email=target.email, language=target.language or "de",
                      now=uow.now())

    def start() -> PermissionTransfer:
        return PermissionTransfer.start(from_company_id=company_id,
                                        to_company_id=target.company_id, to_user_id=target.id)

    await uow.store.transfers.change_or_create(start().id, start, tick)
    return target


# -- sub-administrators (CON-6) ----------------------------------------------------------------
async def sub_administrator(uow: Contracts, company_id: str, user_id: str) -> ProjectedUser:
    return check_sub_administrator(
        await uow.store.users.get({"_id": user_id, "company_id": company_id}), user_id,
        SUB_ADMIN)


async def assign_contracts(cmd: AssignContracts, uow: Contracts) -> SubAdminAssignment:
    """Replace the contracts (and rights on each) a sub-administrator may see and manage."""
    await sub_administrator(uow, cmd.company_id, cmd.user_id)
    held: dict[str, tuple[str, ...]] = {}
    for n in await uow.store.linked_numbers(cmd.company_id):
        held.update(n.rights_of(cmd.company_id))
    refused: list[str] = []
    items: list[AssignedContract] = []
    for contract_id, asked in cmd.contracts:
        rights_held = held.get(contract_id)
        default = [r for r in (rights_held or []) if r != COMMERCIAL_CONTACT]
        rights = asked or default
        if rights_held is None or not set(rights) <= set(rights_held):
            refused.append(contract_id)
        else:
            items.append(AssignedContract(contract_id=contract_id, rights=ordered(rights)))
    if refused:
        raise errors.ContractsNotAssignable(
            "Your company does not hold these contracts, or not with the rights asked for: "
            + ", ".join(refused) + ".", contract_ids=refused)
    return await uow.store.assignments.change_or_create(
        f"{cmd.company_id}:{cmd.user_id}",
        lambda: SubAdminAssignment.start(cmd.company_id, cmd.user_id),
        lambda a: a.assign(items, uow.now()))
