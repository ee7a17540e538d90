"""contracts' domain errors: each its own problem type with a detail that says what to do."""

from shared.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unprocessable,
)

SERVICE_DESK = "the business customer service (0800 330 1300)"


class UnknownCustomerNumber(NotFound):
    slug, title = "unknown-customer-number", "The customer number is not known"


class WrongOneTimePassword(Unprocessable):
    # The same answer for an unknown number: only the letter's holder learns the number exists.
    slug, title = "wrong-one-time-password", \
        "The customer number or the one-time password is not correct"


class OneTimePasswordExpired(Gone):
    slug, title = "one-time-password-expired", "The one-time password has expired"


class OneTimePasswordLocked(TooManyRequests):
    slug, title = "one-time-password-locked", "Too many wrong one-time passwords"


class OneTimePasswordUsed(Conflict):
    slug, title = "one-time-password-used", "The one-time password was used already"


class OneTimePasswordStillValid(Conflict):
    slug, title = "one-time-password-still-valid", "The one-time password is still valid"


class LinkedElsewhere(Conflict):
    slug, title = "customer-number-linked-elsewhere", \
        "The customer number is linked to another company"


class AlreadyLinked(Conflict):
    slug, title = "already-linked", "The customer number is already linked to your company"


class MixedCustomerNumber(Conflict):
    slug, title = "mixed-customer-number", \
        "Private and business contracts run under this customer number"


class PrivateCustomerNumber(Conflict):
    slug, title = "private-customer-number", "Private contracts are not managed here"


class UnknownContract(NotFound):
    slug, title = "unknown-contract", "The contract is not known under this customer number"


class ContractTerminated(Conflict):
    slug, title = "contract-terminated", "The contract is terminated"


class ContractRequired(InvalidInput):
    slug, title = "contract-required", "Name the contract to link as user"


class LinkNotFound(NotFound):
    slug, title = "link-not-found", "Your company has no link to this customer number"


class MasterAdministratorNotFound(NotFound):
    slug, title = "master-administrator-not-found", "No such master administrator"


class TransferWithinCompany(Conflict):
    slug, title = "transfer-within-company", "The administrator belongs to your own company"


class ContractsNotTransferable(Unprocessable):
    slug, title = "contracts-not-transferable", \
        "Some contracts can not be transferred by your company"


class SubAdministratorNotFound(NotFound):
    slug, title = "sub-administrator-not-found", "No such sub-administrator in your company"


class ContractsNotAssignable(Unprocessable):
    slug, title = "contracts-not-assignable", \
        "Some contracts or rights are not your company's to assign"


class ContractNotVisible(NotFound):
    slug, title = "contract-not-found", "No such contract among yours"


class NotHolder(Forbidden):
    slug, title = "not-contract-holder", "Only the contract holder's company may do this"


class ContactExists(Conflict):
    slug, title = "authorised-contact-exists", "This person is already an authorised contact"


class ContactNotFound(NotFound):
    slug, title = "authorised-contact-not-found", "No such authorised contact"
