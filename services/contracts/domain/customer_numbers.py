"""The customer number aggregate (CON-1…CON-4): what the CRM says about a number and its
contracts, its one-time password, and the companies linked to it. Rules only, no I/O.

Document (``customer_numbers``)::

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

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import Field

from services.contracts.domain import errors
from services.contracts.domain.model import Aggregate, Record
from services.contracts.domain.one_time_passwords import OneTimePassword
from services.contracts.domain.rights import HOLDER_RIGHTS, USER_RIGHTS
from shared.durations import in_words

HOLDER, USER = "holder", "user"
ACTIVE, TERMINATED = "active", "terminated"
LinkType = Literal["holder", "user"]
# What the CRM's changes of the reference contact may set (seed 004).
REFERENCE_FIELDS = ("holder_name", "contact_email", "language")


class Contract(Record):
    """A contract as the CRM described it last (dates as the CRM sent them)."""

    contract_id: str
    product: str
    segment: str
    access_number: str | None = None
    status: str = ACTIVE
    started_on: str | None = None
    terminated_on: str | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


class Link(Record):
    """A company's link to the number: as contract holder (every contract) or as user."""

    company_id: str
    link_type: LinkType
    contract_ids: list[str] = Field(default_factory=list)
    linked_at: datetime
    linked_by: str | None = None
    stale: bool = False

    @property
    def rights(self) -> tuple[str, ...]:
        return HOLDER_RIGHTS if self.link_type == HOLDER else USER_RIGHTS


# -- the events a customer number's changes cause -------------------------------------------
@dataclass(frozen=True)
class PasswordIssued:
    """A new one-time password, to send in the access email (the store keeps its hash only)."""

    password: str = field(repr=False)


@dataclass(frozen=True)
class LinkChanged:
    """A link was made, or the contracts it covers changed."""

    link: Link


@dataclass(frozen=True)
class LinkDeleted:
    company_id: str
    link_type: str


NumberEvent = PasswordIssued | LinkChanged | LinkDeleted


class CustomerNumber(Aggregate):
    id: str = Field(alias="_id")
    customer_number: str = ""
    kind: str
    segment: str
    holder_name: str
    contact_email: str
    language: str = "de"
    contracts: list[Contract] = Field(default_factory=list)
    segments_seen: list[str] = Field(default_factory=list)
    otp: OneTimePassword | None = None
    links: list[Link] = Field(default_factory=list)
    linked_companies: list[str] = Field(default_factory=list)
    holder_company_id: str = ""
    issued_at: datetime | None = None
    # When the CRM's reference contact was changed last (its event's time).
    reference_as_of: float = 0.0

    # -- from the CRM ----------------------------------------------------------------------
    @classmethod
    def issue(cls, *, customer_number: str, kind: str, segment: str, holder_name: str,
              contact_email: str, language: str | None, contracts: list[Contract],
              password: str, record: OneTimePassword, now: datetime) -> CustomerNumber:
        """A customer number as the CRM issued it, with its first one-time password."""
        ids = [c.contract_id for c in contracts]
        if len(ids) != len(set(ids)):
            raise ValueError("the same contract id is listed twice")
        number = cls(id=customer_number, customer_number=customer_number, kind=kind,
                     segment=segment, holder_name=holder_name, contact_email=contact_email,
                     language=language or "de", contracts=list(contracts), segments_seen=[],
                     otp=record, links=[], linked_companies=[], holder_company_id="",
                     issued_at=now)
        number._see_segments()
        number.record(PasswordIssued(password))
        return number

    def put_contract(self, contract: Contract) -> None:
        """A contract added or changed by the CRM (its segment is remembered for CON-4).
        Linked companies learn the contracts (and access numbers) their link covers now."""
        others = [c for c in self.contracts if c.contract_id != contract.contract_id]
        self.contracts = [*others, contract]
        self._see_segments()
        self.refresh_stale()
        for link in self.links:
            if contract.contract_id in {c.contract_id for c in self.covered_contracts(link)}:
                self.record(LinkChanged(link))

    def terminate_contract(self, contract: Contract) -> None:
        if contract.status != TERMINATED:
            raise ValueError("a termination must carry status 'terminated'")
        self.put_contract(contract)

    def _see_segments(self) -> None:
        seen = set(self.segments_seen) | {self.segment}
        seen |= {c.segment for c in self.contracts}
        self.segments_seen = sorted(seen)

    @property
    def is_mixed(self) -> bool:
        """Private and business contracts run, or ran, under the number (seed 003)."""
        return {"private", "business"} <= set(self.segments_seen)

    @property
    def is_private_only(self) -> bool:
        return set(self.segments_seen) == {"private"}

    def contract(self, contract_id: str) -> Contract | None:
        return next((c for c in self.contracts if c.contract_id == contract_id), None)

    # -- links -----------------------------------------------------------------------------
    def link_of(self, company_id: str) -> Link | None:
        return next((link for link in self.links if link.company_id == company_id), None)

    def covered_contracts(self, link: Link) -> list[Contract]:
        """The contracts a link gives rights for: all of them for a holder (CON-3)."""
        if link.link_type == HOLDER:
            return list(self.contracts)
        return [c for c in self.contracts if c.contract_id in link.contract_ids]

    def rights_of(self, company_id: str) -> dict[str, tuple[str, ...]]:
        """The rights the company's own link gives on each contract it covers."""
        link = self.link_of(company_id)
        if link is None:
            return {}
        return {c.contract_id: link.rights for c in self.covered_contracts(link)}

    def refresh_stale(self) -> None:
        """A link whose contracts are all terminated is stale (seed 003): it can be deleted."""
        for link in self.links:
            link.stale = all(c.status == TERMINATED for c in self.covered_contracts(link))

    def find_contract(self, *, contract_id: str | None, access_number: str | None) -> Contract:
        for c in self.contracts:
            if (contract_id and c.contract_id == contract_id) or (
                    access_number and c.access_number == access_number):
                return c
        raise errors.UnknownContract(
            f"No contract {contract_id or access_number} runs under customer number "
            f"{self.id}. Check the contract or phone number in your contract documents.")

    def check_link_rules(self, *, company_id: str, link_type: str,
                         contract_id: str | None = None,
                         access_number: str | None = None) -> Contract | None:
        """Refuse a link the rules do not allow (CON-3, CON-4). Only for a caller whose
        password proved right: the reasons tell what the number holds (no enumeration).

        Returns the contract a user link names (None for a holder link).
        """
        number = self.id
        if self.is_private_only:
            raise errors.PrivateCustomerNumber(
                f"Customer number {number} holds private contracts only. Private contracts "
                "are managed in the private customer centre, not in the business portal.")
        contract = None
        if link_type == HOLDER:
            if self.is_mixed:
                raise errors.MixedCustomerNumber(
                    f"Private and business contracts run or ran under customer number "
                    f"{number}, so it can not be linked as contract holder. Ask "
                    + errors.SERVICE_DESK + " to move the private contracts to a customer "
                    "number of their own, or link a single business contract as user.")
            if self.holder_company_id and self.holder_company_id != company_id:
                raise errors.LinkedElsewhere(
                    f"Customer number {number} is linked as contract holder to another "
                    "company's account. That company must delete its link first; ask "
                    + errors.SERVICE_DESK + " if you are the contract holder.")
        else:
            if not (contract_id or access_number):
                raise errors.ContractRequired(
                    [{"field": "contract_id", "rule": "required",
                      "message": "a user link names one contract or phone number"}])
            contract = self.find_contract(contract_id=contract_id, access_number=access_number)
            if contract.status == TERMINATED:
                raise errors.ContractTerminated(
                    f"Contract {contract.contract_id} is terminated and can not be linked.")
            if contract.segment != "business":
                raise errors.PrivateCustomerNumber(
                    f"Contract {contract.contract_id} is a private contract; it is managed in "
                    "the private customer centre, not in the business portal.")
        own = self.link_of(company_id)
        if own is not None and own.link_type == HOLDER:
            raise errors.AlreadyLinked(
                f"Customer number {number} is already linked to your company as contract "
                "holder.")
        if own is not None and contract is not None and contract.contract_id in own.contract_ids:
            raise errors.AlreadyLinked(
                f"Contract {contract.contract_id} is already linked to your company as user.")
        return contract

    # -- the one-time password -------------------------------------------------------------
    @property
    def password_generation(self) -> str:
        """Which password attempts are counted against: a new password starts the count
        afresh. "" without a password (any password is wrong there)."""
        return password_generation(self)

    def check_password_usable(self, *, now: datetime, company_id: str | None = None) -> None:
        otp = self.otp
        if (otp is None or otp.used_at
                or (company_id is not None and otp.bound_company_id
                    and otp.bound_company_id != company_id)):
            # Single use (NOT-4): once a company linked with it, no other company can.
            raise errors.OneTimePasswordUsed(
                f"The one-time password of customer number {self.id} was used already. Ask "
                + errors.SERVICE_DESK + " for a new one.")
        if otp.expires_at <= now:
            # The validity it was issued with (the setting may have changed since).
            issued = otp.issued_at
            validity = f"; it is valid for {in_words(otp.expires_at - issued)}" if issued else ""
            raise errors.OneTimePasswordExpired(
                f"The one-time password expired on {otp.expires_at:%Y-%m-%d}{validity}. Ask "
                + errors.SERVICE_DESK + " for a new one.",
                expired_at=otp.expires_at.isoformat())

    def check_password_unchanged(self, stored_hash: str, company_id: str) -> None:
        """The password proved right a moment ago is still this number's and still free for
        the company (a concurrent request may have used it)."""
        otp = self.otp
        if (otp is None or otp.hash != stored_hash or otp.used_at
                or (otp.bound_company_id or company_id) != company_id):
            raise errors.OneTimePasswordUsed(
                "The one-time password was used at the same moment by another request.")

    def link(self, *, company_id: str, user_id: str, link_type: str,
             contract: Contract | None, now: datetime) -> Link:
        """Add the company's link (the password was checked). A holder link replaces the
        company's user link and uses up the password (CON-3)."""
        own = self.link_of(company_id)
        if link_type == HOLDER:
            self.links = [link for link in self.links if link.company_id != company_id]
            new_link = Link(company_id=company_id, link_type=HOLDER, contract_ids=[],
                            linked_at=now, linked_by=user_id, stale=False)
            self.links.append(new_link)
            self.holder_company_id = company_id
            # Used up, but its hash kept: whoever types it again proves to hold the letter
            # and is told why nothing happens ("already linked"), everybody else "wrong
            # password".
            if self.otp is not None:
                self.otp.used_at, self.otp.bound_company_id = now, company_id
        else:
            if contract is None:
                raise ValueError("a user link names its contract")
            if own is not None:
                own.contract_ids = [*own.contract_ids, contract.contract_id]
                new_link = own
            else:
                new_link = Link(company_id=company_id, link_type=USER,
                                contract_ids=[contract.contract_id], linked_at=now,
                                linked_by=user_id, stale=False)
                self.links.append(new_link)
            if self.otp is not None:
                # A user link keeps the password for the same company's holder link later
                # (seed 003), but no other company can use it any more.
                self.otp.bound_company_id = company_id
        if company_id not in self.linked_companies:
            self.linked_companies = [*self.linked_companies, company_id]
        self.refresh_stale()
        self.record(LinkChanged(new_link))
        return new_link

    def unlink(self, company_id: str) -> Link:
        own = self.link_of(company_id)
        if own is None:
            raise errors.LinkNotFound(
                f"Your company has no link to customer number {self.id}.")
        self.links = [link for link in self.links if link.company_id != company_id]
        self.linked_companies = [c for c in self.linked_companies if c != company_id]
        if self.holder_company_id == company_id:
            self.holder_company_id = ""
        self.record(LinkDeleted(company_id, own.link_type))
        return own

    def check_reissue_allowed(self, *, now: datetime, someone_locked: bool) -> None:
        """Support may issue a new password when the current one is used up, expired or a
        company locked itself out of it (the caller at the desk may be that company)."""
        otp = self.otp
        if otp and not otp.used_at and otp.expires_at > now and not someone_locked:
            raise errors.OneTimePasswordStillValid(
                f"The one-time password of customer number {self.id} is valid until "
                f"{otp.expires_at:%Y-%m-%d}; the customer can use it.")
        if self.holder_company_id:
            raise errors.LinkedElsewhere(
                f"Customer number {self.id} is linked as contract holder to a company; that "
                "company must delete its link before a new password makes sense.")

    def set_password(self, password: str, record: OneTimePassword) -> None:
        self.otp = record
        self.record(PasswordIssued(password))

    # -- seed 004: the CRM's reference contact, and the holder's own account --------------
    def change_reference(self, *, holder_name: str | None, contact_email: str | None,
                         language: str | None, as_of: float) -> bool:
        """The CRM changed the holder name or reference email address; a change older than
        the one applied last (a retried event arriving late) changes nothing. True if
        applied."""
        if as_of < self.reference_as_of:
            return False
        if holder_name:
            self.holder_name = holder_name
        if contact_email:
            self.contact_email = contact_email
        if language:
            self.language = language
        self.reference_as_of = as_of
        return True

    def link_holder_account(self, *, company_id: str, user_id: str, now: datetime) -> Link:
        """The holder proved the CRM's reference address and set a password; the company
        identity opened for that account becomes the contract holder, with the same rules as
        a link by one-time password (not mixed, not private only, nobody else holding it).
        The one-time password, if any, is used up by it."""
        self.check_link_rules(company_id=company_id, link_type=HOLDER)
        return self.link(company_id=company_id, user_id=user_id, link_type=HOLDER,
                         contract=None, now=now)


def password_generation(number: CustomerNumber | None) -> str:
    """Which password attempts are counted against: a new password starts the count afresh.
    "" for an unknown number or one without a password (any password is wrong there)."""
    otp = number.otp if number is not None else None
    return str(otp.issued_at) if otp is not None and otp.hash and otp.issued_at else ""
