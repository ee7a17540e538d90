"""Use cases of customer numbers from the CRM (CON-1), support's new one-time password, and
seed 004's holder accounts: the CRM's reference contact kept current, and the company identity
opened for a holder who logs in with the customer number linked as contract holder."""

from __future__ import annotations

from services.contracts.domain import errors
from services.contracts.domain import one_time_passwords as otp
from services.contracts.domain.commands import (
    ChangeReference,
    IssueCustomerNumber,
    LinkHolderAccount,
    PutContract,
    ReissuePassword,
)
from services.contracts.domain.customer_numbers import CustomerNumber
from services.contracts.handlers import Contracts
from shared.errors import PermanentEventError
from shared.logging import get_logger

log = get_logger("contracts.holder_accounts")


def _not_known_yet(number: str) -> LookupError:
    # Possibly ahead of the number's own event: retried with back-off, then parked.
    return LookupError(f"customer number {number} is not known (yet)")


async def issue_customer_number(cmd: IssueCustomerNumber, uow: Contracts) -> bool:
    """A new customer number: kept with its contracts; a one-time password (valid
    ``otp_valid_days``, 10 by default) is issued and announced for the access email. A
    redelivery issues nothing."""
    number = cmd.customer_number
    if await uow.store.numbers.get({"_id": number}) is not None:
        return False
    now = uow.now()
    password, record = otp.issue(number, now, valid_days=uow.policy.valid_days,
                                 pepper=uow.policy.pepper)
    try:
        issued = CustomerNumber.issue(
            customer_number=number, kind=cmd.kind, segment=cmd.segment,
            holder_name=cmd.holder_name, contact_email=cmd.contact_email,
            language=cmd.language, contracts=cmd.contracts, password=password,
            record=record, now=now)
    except ValueError as e:
        raise PermanentEventError(f"customer number {number}: {e}") from None
    return await uow.store.numbers.create_once(issued, applied_event=cmd.event_id)


async def put_contract(cmd: PutContract, uow: Contracts) -> None:
    """A contract added, changed or terminated under a known customer number."""
    number = cmd.customer_number

    def apply(n: CustomerNumber) -> None:
        try:
            if cmd.terminated:
                n.terminate_contract(cmd.contract)
            else:
                n.put_contract(cmd.contract)
        except ValueError as e:
            raise PermanentEventError(f"customer number {number}: {e}") from None

    if await uow.store.numbers.change({"_id": number}, apply,
                                      applied_event=cmd.event_id) is None:
        raise _not_known_yet(number)


async def change_reference(cmd: ChangeReference, uow: Contracts) -> None:
    """The next one-time-password email goes to the CRM's current reference address."""
    def apply(n: CustomerNumber) -> None:
        n.change_reference(holder_name=cmd.holder_name, contact_email=cmd.contact_email,
                           language=cmd.language, as_of=cmd.as_of)

    if await uow.store.numbers.change({"_id": cmd.customer_number}, apply,
                                      applied_event=cmd.event_id) is None:
        raise _not_known_yet(cmd.customer_number)


async def link_holder_account(cmd: LinkHolderAccount, uow: Contracts) -> bool:
    """Link the number as holder to the company identity opened for its holder. A number
    that can not be linked so (mixed, private only, held by another company meanwhile) stays
    as it is: the account exists, but holds no contracts; the refusal is logged for
    support. True if the link was made now."""
    made: list[bool] = []

    def apply(n: CustomerNumber) -> None:
        try:
            n.link_holder_account(company_id=cmd.company_id, user_id=cmd.user_id,
                                  now=uow.now())
        except errors.AlreadyLinked:
            return  # this company holds it already: nothing to do
        except (errors.LinkedElsewhere, errors.MixedCustomerNumber,
                errors.PrivateCustomerNumber) as e:
            log.warning("customer number not linked to the holder's new account",
                        customer_number=cmd.customer_number, company_id=cmd.company_id,
                        reason=e.slug)
            return
        made.append(True)

    if await uow.store.numbers.change({"_id": cmd.customer_number}, apply,
                                      applied_event=cmd.event_id) is None:
        raise _not_known_yet(cmd.customer_number)
    return bool(made)


async def reissue_password(cmd: ReissuePassword, uow: Contracts) -> CustomerNumber:
    """Support issues a new one-time password when the old one is used up, expired or a
    company locked itself out of it."""
    policy = uow.policy

    async def reissue(n: CustomerNumber) -> None:
        now = uow.now()
        locked = await uow.store.someone_locked(n.id, n.password_generation,
                                                policy.max_attempts)
        n.check_reissue_allowed(now=now, someone_locked=locked)
        password, record = otp.issue(n.id, now, valid_days=policy.valid_days,
                                     pepper=policy.pepper)
        n.set_password(password, record)

    saved = await uow.store.numbers.change({"_id": cmd.customer_number}, reissue)
    if saved is None:
        raise errors.UnknownCustomerNumber(
            f"Customer number {cmd.customer_number} is not known.")
    return saved
