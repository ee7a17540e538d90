"""What billing's clients send: the request bodies (strict: unknown fields refused, card
numbers anywhere refused before any field is read), and how a body becomes the values of a
command (``domain.commands``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

from services.billing.domain.cards import contains_card_number
from services.billing.domain.commands import (
    BillMethod,
    CardMethod,
    NewMethod,
    PayPalMethod,
    SepaMethod,
)
from services.billing.domain.details import BillingDetails
from services.billing.domain.errors import CardNumberInBody
from shared.phones import REGIONS


def _refuse_card_numbers(data: Any) -> Any:
    # Runs before any field is validated, on the body as sent: nothing of it is echoed.
    if contains_card_number(data):
        raise CardNumberInBody()
    return data


class Body(BaseModel):
    """Every billing request body: unknown fields are refused, card numbers anywhere too."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def no_card_numbers(cls, data: Any) -> Any:
        return _refuse_card_numbers(data)


class Address(Body):
    """A postal address for invoices."""

    street: str = Field(min_length=1, max_length=200, description="Street and house number",
                        examples=["Friedrichstraße 123"])
    additional: str | None = Field(None, max_length=200,
                                   description="Address addition: building, floor, c/o",
                                   examples=["3rd floor"])
    postal_code: str = Field(min_length=2, max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$",
                             description="Postal code as written in the country",
                             examples=["10117"])
    city: str = Field(min_length=1, max_length=100, description="City", examples=["Berlin"])
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code",
                         examples=["DE"])

    @field_validator("country")
    @classmethod
    def known_country(cls, v: str) -> str:
        if v not in REGIONS:
            raise ValueError("not an ISO 3166-1 alpha-2 country code")
        return v


class BillingDetailsIn(Body):
    """Who invoices are addressed to and where they are sent."""

    recipient: str = Field(min_length=1, max_length=200,
                           description="Invoice recipient, usually the company's legal name",
                           examples=["Muster GmbH"])
    address: Address = Field(description="The recipient's postal address")
    invoice_email: EmailStr = Field(description="Where invoices and billing notices are sent",
                                    examples=["invoices@muster.example"])
    vat_id: str | None = Field(None, min_length=4, max_length=20,
                               description="EU VAT id with its country prefix, checked per "
                                           "country (checksum where the country has one)",
                               examples=["DE136695976"])


CUSTOMER_NUMBER: dict[str, Any] = {"min_length": 4, "max_length": 20,
                                   "pattern": r"^[A-Za-z0-9-]+$", "examples": ["1234567890"]}


class LandlineBill(Body):
    """Pay with the landline bill of a landline customer number linked to the company."""

    kind: Literal["landline_bill"] = Field(description="The kind of method",
                                           examples=["landline_bill"])
    customer_number: str = Field(description="A landline customer number linked to the "
                                             "company (contracts' links)", **CUSTOMER_NUMBER)


class MobileBill(Body):
    """Pay with the mobile bill of a mobile customer number linked to the company."""

    kind: Literal["mobile_bill"] = Field(description="The kind of method",
                                         examples=["mobile_bill"])
    customer_number: str = Field(description="A mobile customer number linked to the "
                                             "company (contracts' links)", **CUSTOMER_NUMBER)


class CreditCard(Body):
    """A credit card: only the payment provider's token, the brand, the last four digits and
    the expiry; the card number itself is never sent."""

    kind: Literal["credit_card"] = Field(description="The kind of method",
                                         examples=["credit_card"])
    provider_token: str = Field(min_length=6, max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                                description="The payment provider's token for the card, "
                                            "checked with the provider",
                                examples=["tok_1Pq2Rs3Tu4Vw5Xy6"])
    brand: str = Field(min_length=2, max_length=40,
                       description="visa, mastercard, diners_discover or jcb",
                       examples=["visa"])
    last4: str = Field(pattern=r"^[0-9]{4}$", description="The card number's last four digits",
                       examples=["4242"])
    exp_month: int = Field(ge=1, le=12, description="Expiry month", examples=[9])
    exp_year: int = Field(ge=2000, le=2100, description="Expiry year (an expired card is "
                                                        "refused)", examples=[2031])
    holder_name: str | None = Field(None, max_length=100, description="Name on the card",
                                    examples=["Erika Mustermann"])


class PayPal(Body):
    """PayPal through a billing agreement the company concluded with PayPal."""

    kind: Literal["paypal"] = Field(description="The kind of method", examples=["paypal"])
    billing_agreement_id: str = Field(pattern=r"^B-[A-Z0-9]{17}$",
                                      description="PayPal's billing agreement id",
                                      examples=["B-5YM71234AB567890C"])
    payer_email: EmailStr = Field(description="The PayPal account's email address",
                                  examples=["payments@muster.example"])


class SepaDebit(Body):
    """SEPA direct debit from a bank account; usable once the credit check approves it."""

    kind: Literal["sepa_debit"] = Field(description="The kind of method",
                                        examples=["sepa_debit"])
    iban: str = Field(min_length=2, max_length=42,
                      description="The account's IBAN (spaces allowed), checked with schwifty",
                      examples=["DE89 3704 0044 0532 0130 00"])
    bic: str = Field(min_length=2, max_length=14,
                     description="The bank's BIC, 8 or 11 characters, matching the IBAN's bank",
                     examples=["COBADEFFXXX"])
    account_holder: str = Field(min_length=2, max_length=70,
                                description="The account holder's name",
                                examples=["Muster GmbH"])
    mandate_accepted: Literal[True] = Field(
        description="The account holder authorises the SEPA direct debit mandate",
        examples=[True])


PaymentMethodChoice = Annotated[LandlineBill | MobileBill | CreditCard | PayPal | SepaDebit,
                                Field(discriminator="kind")]


class NewPaymentMethod(RootModel[PaymentMethodChoice]):
    """A new payment method, one of the kinds named by `kind`."""

    @model_validator(mode="before")
    @classmethod
    def no_card_numbers(cls, data: Any) -> Any:
        return _refuse_card_numbers(data)


class CardUpdate(Body):
    """A card's new expiry and the provider's token for it: brand and last four digits stay."""

    provider_token: str = Field(min_length=6, max_length=200, pattern=r"^[A-Za-z0-9_-]+$",
                                description="The payment provider's new token for the same "
                                            "card", examples=["tok_9Zy8Xw7Vu6Ts5Rq4"])
    exp_month: int = Field(ge=1, le=12, description="New expiry month", examples=[3])
    exp_year: int = Field(ge=2000, le=2100, description="New expiry year", examples=[2033])
    holder_name: str | None = Field(None, max_length=100,
                                    description="Name on the card; omitted: unchanged",
                                    examples=["Erika Mustermann"])


class Booking(Body):
    """A product to book with its number of licences; a company without a payment method
    brings one (and may bring its billing details) in the same request."""

    product_id: str = Field(min_length=1, max_length=64,
                            description="The product's id from `GET /v1/products`",
                            examples=["m365-business-standard"])
    licences: int = Field(ge=1, le=10_000, description="Number of licences, at most the "
                                                       "product's `max_licences`",
                          examples=[25])
    payment_method: PaymentMethodChoice | None = Field(
        None, description="Needed when the company has no payment method yet; becomes the "
                          "active one, as with `POST /v1/payment-methods`",
        examples=[{"kind": "paypal", "billing_agreement_id": "B-5YM71234AB567890C",
                   "payer_email": "payments@muster.example"}])
    billing_details: BillingDetailsIn | None = Field(
        None, description="Billing details to set with the booking, as with "
                          "`PUT /v1/billing-details`")


class LicenceChange(Body):
    """A subscription's new number of licences."""

    licences: int = Field(ge=1, le=10_000, description="The new number of licences, at most "
                                                       "the product's `max_licences`",
                          examples=[30])


def details_of(body: BillingDetailsIn) -> BillingDetails:
    """The billing details a body sets (the VAT id is checked by the use case)."""
    return BillingDetails.model_validate(body.model_dump(mode="json"))


def method_of(body: PaymentMethodChoice) -> NewMethod:
    """The payment method a body asks for, as the use case takes it."""
    if isinstance(body, LandlineBill | MobileBill):
        return BillMethod(body.kind, body.customer_number)
    if isinstance(body, CreditCard):
        return CardMethod(body.provider_token, body.brand, body.last4, body.exp_month,
                          body.exp_year, body.holder_name)
    if isinstance(body, PayPal):
        return PayPalMethod(body.billing_agreement_id, str(body.payer_email))
    return SepaMethod(body.iban, body.bic, body.account_holder)
