"""The request and response models of contracts' HTTP API (links, contracts, the contract
space, permission transfers, sub-administrators, support's one-time passwords); the routes
are in this package's other modules. Every property is described with an example valid for
its rules: the OpenAPI document composes its request and response examples from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.contracts.domain.rights import Right
from shared.parsing import UniqueList

CUSTOMER_NUMBER_EXAMPLE = "1234567890"
CONTRACT_ID_EXAMPLE = "K-1002345"
COMPANY_ID_EXAMPLE = "0f3a6c2e-1d4b-4e8a-9b7c-2a5d8e1f3c40"
USER_ID_EXAMPLE = "5b1e0c1a-7f0e-4a51-9c43-6f7d2c8b9e10"
Kind = Literal["landline", "mobile"]


def customer_number_field(description: str = "The customer number as printed on the "
                                             "letter or invoice") -> Any:
    """A customer number field: 3 to 32 letters, digits and dashes."""
    return Field(min_length=3, max_length=32, pattern=r"^[0-9A-Za-z][0-9A-Za-z-]*$",
                 description=description, examples=[CUSTOMER_NUMBER_EXAMPLE])


class Strict(BaseModel):
    """A request body: unknown fields are refused, surrounding blanks dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContractSummary(BaseModel):
    """A contract under a customer number."""

    contract_id: str = Field(description="The contract's id", examples=[CONTRACT_ID_EXAMPLE])
    product: str = Field(description="The product the contract is for",
                         examples=["CompanyFlex"])
    segment: str = Field(description="`business` or `private`", examples=["business"])
    access_number: str | None = Field(None, description="The phone number the contract runs "
                                                        "under (E.164), if it has one",
                                      examples=["+4930123456"])
    status: str = Field(description="`active` or `terminated`", examples=["active"])


class LinkRequest(Strict):
    """A customer number to link with the one-time password from its letter or email."""

    customer_number: str = customer_number_field()
    one_time_password: str = Field(min_length=4, max_length=64,
                                   description="The one-time password from the letter or email "
                                               "\"Your access to the Business Service Portal\" "
                                               "(spaces, dashes and case do not matter)",
                                   examples=["K7PX-M4QR-9TWA"])
    link_type: Literal["holder", "user"] = Field(
        "holder", description="holder: every contract under the number, with every right "
                              "(the contract holder); user: one contract or phone number, "
                              "view and technical changes", examples=["holder"])
    contract_id: str | None = Field(None, min_length=1, max_length=64,
                                    description="user links: the contract to link (or give "
                                                "`access_number`)",
                                    examples=[None, CONTRACT_ID_EXAMPLE])
    access_number: str | None = Field(None, min_length=3, max_length=32,
                                      description="user links: the phone number whose "
                                                  "contract to link (or give `contract_id`)",
                                      examples=[None, "+4930123456"])


class Link(BaseModel):
    """Your company's link to a customer number and the contracts it covers."""

    customer_number: str = Field(description="The linked customer number",
                                 examples=[CUSTOMER_NUMBER_EXAMPLE])
    kind: Kind = Field(description="landline or mobile customer number", examples=["landline"])
    link_type: Literal["holder", "user"] = Field(description="holder or user link",
                                                 examples=["holder"])
    stale: bool = Field(description="Every contract it covers is terminated: delete the link",
                        examples=[False])
    linked_at: datetime = Field(description="When the link was made",
                                examples=["2026-03-02T09:30:00Z"])
    rights: list[str] = Field(description="The rights the link gives on its contracts",
                              examples=[["view", "order", "cancel", "technical_change",
                                         "billing_question", "commercial_contact"]])
    contracts: list[ContractSummary] = Field(description="The contracts the link covers")


class Links(BaseModel):
    """Your company's links."""

    links: list[Link] = Field(description="Every link of your company")


class Contract(ContractSummary):
    """A contract you hold rights for, with the rights and how you hold them."""

    customer_number: str = Field(description="The customer number it runs under",
                                 examples=[CUSTOMER_NUMBER_EXAMPLE])
    kind: Kind = Field(description="landline or mobile", examples=["landline"])
    rights: list[str] = Field(description="Your rights on it: view, order, cancel, "
                                          "technical_change, billing_question, "
                                          "commercial_contact",
                              examples=[["view", "order", "technical_change"]])
    via: str = Field(description="How you hold the rights: holder or user link, transfer "
                                 "from another company, assignment to a sub-administrator, "
                                 "phone_login for a mobile-number login",
                     examples=["holder"])


class Contracts(BaseModel):
    """The contracts you hold rights for."""

    contracts: list[Contract] = Field(description="Sorted by customer number and contract id")


class ContractSpace(BaseModel):
    """The company's contract space as the caller may see it."""

    company_id: str = Field(description="The company", examples=[COMPANY_ID_EXAMPLE])
    company_name: str = Field(description="The company's name", examples=["Muster GmbH"])
    customer_numbers: list[str] = Field(
        description="The numbers the caller holds rights on (a master administrator: every "
                    "linked number)", examples=[[CUSTOMER_NUMBER_EXAMPLE]])
    contracts: list[Contract] = Field(description="The contracts the caller holds rights on")
    opened_at: datetime = Field(description="When the contract space was opened",
                                examples=["2026-03-01T10:00:00Z"])


class PasswordIssued(BaseModel):
    """A new one-time password was issued and is on its way to the customer by email."""

    customer_number: str = Field(description="The customer number",
                                 examples=[CUSTOMER_NUMBER_EXAMPLE])
    expires_at: datetime = Field(description="When the new one-time password expires",
                                 examples=["2026-03-12T10:00:00Z"])


class AdministratorSearch(Strict):
    """The master administrator to find: their email and a customer number their company
    holds rights for."""

    email: EmailStr = Field(description="The other master administrator's email address",
                            examples=["anna.schmidt@partner.example"])
    customer_number: str = customer_number_field("A customer number the other administrator's "
                                          "company has linked")
    kind: Kind = Field("landline", description="That customer number's kind",
                       examples=["landline"])


class TransferSave(AdministratorSearch):
    """The administrator and the contracts to transfer to them (the ticks)."""

    contract_ids: UniqueList[str] = Field(
        max_length=1000, description="The ticked contracts; a contract ticked before and "
                                     "missing now is revoked",
        examples=[[CONTRACT_ID_EXAMPLE]])


class Administrator(BaseModel):
    """Another company's master administrator."""

    user_id: str = Field(description="The administrator's user id",
                         examples=["9d2f7a3c-5e1b-4c8d-a6f0-3b7e1c9d5a24"])
    first_name: str | None = Field(None, description="First name", examples=["Anna"])
    surname: str | None = Field(None, description="Surname", examples=["Schmidt"])
    email: str = Field(description="Email address", examples=["anna.schmidt@partner.example"])


class TransferOption(ContractSummary):
    """A contract that can be transferred, ticked when it is."""

    customer_number: str = Field(description="The customer number it runs under",
                                 examples=[CUSTOMER_NUMBER_EXAMPLE])
    transferred: bool = Field(description="Whether it is transferred to the administrator",
                              examples=[True])


class TransferOptions(BaseModel):
    """The found administrator, the rights a transfer gives and the contracts to tick."""

    administrator: Administrator = Field(description="The administrator found")
    rights: list[str] = Field(description="The rights a transfer gives: every right except "
                                          "commercial contact",
                              examples=[["view", "order", "cancel", "technical_change",
                                         "billing_question"]])
    contracts: list[TransferOption] = Field(description="Your active landline contracts as "
                                                        "contract holder")


class AssignedContract(Strict):
    """A contract a sub-administrator may see and manage, with the rights on it."""

    contract_id: str = Field(min_length=1, max_length=64, description="The contract",
                             examples=[CONTRACT_ID_EXAMPLE])
    rights: UniqueList[Right] | None = Field(
        None, min_length=1, description="The rights on it; omitted: every right the company "
                                        "holds on it except commercial contact",
        examples=[["view", "technical_change"]])


class Assignment(Strict):
    """The contracts a sub-administrator may see and manage (replaces the earlier ones)."""

    contracts: list[AssignedContract] = Field(max_length=1000,
                                              description="At most 1000 contracts")


class AssignmentOut(BaseModel):
    """The contracts assigned to a sub-administrator."""

    user_id: str = Field(description="The sub-administrator's user id",
                         examples=["7c9e2f4a-3b1d-4e6f-8a2c-5d7e9f1b3c46"])
    contracts: list[AssignedContract] = Field(description="The assigned contracts and rights")


# -- path parameters (what the OpenAPI document says of them) ----------------------------------
class CustomerNumberPath(BaseModel):
    """The customer number a path names."""

    customer_number: str = customer_number_field()


class ContractPath(BaseModel):
    """The contract a path names."""

    contract_id: str = Field(min_length=1, description="The contract's id, from the contract "
                                                       "list", examples=[CONTRACT_ID_EXAMPLE])


class SubAdministratorPath(BaseModel):
    """The sub-administrator a path names."""

    user_id: str = Field(min_length=1, description="The sub-administrator's user id "
                                                   "(identity)",
                         examples=["7c9e2f4a-3b1d-4e6f-8a2c-5d7e9f1b3c46"])
