"""billing's use cases, each ``async def use_case(command, billing)``: the command says what
to do and for whom, ``Billing`` holds what every use case may need (the store, the card
payment provider, the settings). Reads that change nothing are in ``views``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from services.billing.domain import cards, sepa
from services.billing.domain.account import BillingAccount, InvoiceReader
from services.billing.domain.commands import (
    ActivatePaymentMethod,
    AddPaymentMethod,
    AnswerCreditCheck,
    BillMethod,
    BookSubscription,
    CancelSubscription,
    CardMethod,
    ChangeLicences,
    NewMethod,
    OpenBillingAccount,
    PayPalMethod,
    ProjectLink,
    RecordInvoice,
    RemovePaymentMethod,
    SetBillingDetails,
    SetInvoiceReader,
    UpdateCard,
)
from services.billing.domain.details import BillingDetails, check_vat_id
from services.billing.domain.errors import (
    CardExpired,
    CardTokenRejected,
    CustomerNumberNotLinked,
    PaymentProviderUnavailable,
    UnknownCompany,
    UnsupportedCardBrand,
    field_problem,
)
from services.billing.domain.invoices import Invoice, check_lines
from services.billing.domain.payment_methods import BILLS, CardDetails, PaymentMethod
from services.billing.domain.subscriptions import Subscription
from services.billing.payment_provider import CardOnFile, CardProvider, ProviderUnavailable
from services.billing.settings import BillingSettings
from services.billing.store import BillingStore
from shared.errors import PermanentEventError
from shared.logging import get_logger
from shared.phones import phone_key

log = get_logger("billing")


@dataclass
class Billing:
    """What billing's use cases work with, wired once by the app."""

    store: BillingStore
    card_provider: CardProvider
    settings: BillingSettings


def now() -> datetime:
    return datetime.now(UTC)


# -- the account and its billing details (BIL-1) --------------------------------------------------

async def open_billing_account(cmd: OpenBillingAccount, uow: Billing) -> bool:
    """A company's billing account, opened once however often the event arrives."""
    return await uow.store.accounts.open(BillingAccount.open(
        cmd.company_id, cmd.company_name, cmd.admin_email, cmd.language, cmd.event_id, now()))


def _checked_details(details: BillingDetails) -> BillingDetails:
    checked = details.model_copy()
    if checked.vat_id:
        checked.vat_id = check_vat_id(checked.vat_id, "vat_id")
    return checked


async def set_billing_details(cmd: SetBillingDetails, uow: Billing) -> BillingDetails:
    details = _checked_details(cmd.details)
    account = await uow.store.accounts.change(
        cmd.company_id, lambda a: a.set_details(details, by=cmd.by, now=now()))
    return account.billing_details()


async def set_invoice_reader(cmd: SetInvoiceReader, uow: Billing) -> list[InvoiceReader]:
    account = await uow.store.accounts.change(
        cmd.company_id,
        lambda a: a.set_invoice_reader(cmd.user_id, cmd.granted, by=cmd.by, now=now()))
    return account.invoice_readers


# -- payment methods (BIL-2, BIL-3) --------------------------------------------------------------

async def _new_method(uow: Billing, company_id: str, request: NewMethod, *, by: str,
                      field_prefix: str = "") -> PaymentMethod:
    """A payment method built from a validated request: every check that needs no account
    state runs here, before the account is read (the provider, the link projection)."""
    # Field paths name the form, as pydantic's do for the tagged union: "sepa_debit.iban".
    f = f"{field_prefix}{request.kind}."
    method_id = f"pm_{uuid.uuid4().hex[:16]}"
    if isinstance(request, BillMethod):
        wanted = "landline" if request.kind == "landline_bill" else "mobile"
        number = request.customer_number
        if await uow.store.customer_numbers.holder_link_kind(company_id, number) != wanted:
            raise field_problem(
                CustomerNumberNotLinked, f"{f}customer_number", "linked_" + wanted,
                f"Only a {wanted} customer number linked to this company can be billed; "
                "link it first (contracts: link a customer number), then try again.")
        return PaymentMethod.bill(method_id, request.kind, number, by=by, now=now())
    if isinstance(request, CardMethod):
        card = await _checked_card(uow.card_provider, request.brand, request.last4,
                                   request.exp_month, request.exp_year, request.provider_token,
                                   request.holder_name, f)
        return PaymentMethod.card(method_id, card, by=by, now=now())
    if isinstance(request, PayPalMethod):
        return PaymentMethod.paypal(method_id, request.billing_agreement_id,
                                    request.payer_email, by=by, now=now())
    iban = sepa.check_iban(request.iban, f"{f}iban")
    bic = sepa.check_bic(request.bic, iban, f"{f}bic")
    return PaymentMethod.sepa(method_id, iban.compact, str(bic.compact), request.account_holder,
                              by=by, now=now())


async def _checked_card(provider: CardProvider, brand_name: str, last4: str, month: int,
                        year: int, token: str, holder_name: str | None, f: str) -> CardDetails:
    brand = cards.brand(brand_name)
    if brand is None:
        raise field_problem(UnsupportedCardBrand, f"{f}brand", "card_brand",
                            "Accepted cards: Visa, Mastercard, Diners Club/Discover and JCB.")
    if cards.expired(month, year, now().date()):
        raise field_problem(CardExpired, f"{f}exp_year", "card_expired",
                            "The card's expiry date is in the past; use a valid card.")
    try:
        card = await provider.card_for(token)
    except ProviderUnavailable:
        raise PaymentProviderUnavailable("The payment provider can not confirm the card right "
                                         "now; try again in a minute.") from None
    if card is None or not _matches(card, brand, last4, month, year):
        raise field_problem(CardTokenRejected, f"{f}provider_token", "provider_token",
                            "The payment provider does not know this token for a card with "
                            "this brand, last 4 digits and expiry; tokenise the card again.")
    return CardDetails(brand=brand, last4=last4, exp_month=month, exp_year=year,
                       holder_name=holder_name, provider_token=token)


def _matches(card: CardOnFile, brand: str, last4: str, month: int, year: int) -> bool:
    if card.brand == "*":  # the local sandbox trusts what was sent
        return True
    return (cards.brand(card.brand) == brand and card.last4 == last4
            and card.exp_month == month and card.exp_year == year)


async def add_payment_method(cmd: AddPaymentMethod,
                             uow: Billing) -> tuple[PaymentMethod, BillingAccount]:
    """A new method; usable ones are active at once (BIL-3). Returns (method, account)."""
    await uow.store.accounts.load(cmd.company_id)
    method = await _new_method(uow, cmd.company_id, cmd.method, by=cmd.by)
    account = await uow.store.accounts.change(
        cmd.company_id, lambda a: a.add_method(method, by=cmd.by, now=now()))
    return account.find_method(method.id), account


async def activate_payment_method(cmd: ActivatePaymentMethod,
                                  uow: Billing) -> tuple[PaymentMethod, BillingAccount]:
    account = await uow.store.accounts.load(cmd.company_id)
    method = account.find_method(cmd.method_id)
    number = method.customer_number
    if method.kind in BILLS and number is not None and \
            await uow.store.customer_numbers.holder_link_kind(cmd.company_id, number) is None:
        raise field_problem(CustomerNumberNotLinked, "customer_number", "linked",
                            f"The customer number {number} is no longer linked to this "
                            "company; link it again before reactivating this method.")
    account = await uow.store.accounts.change(
        cmd.company_id, lambda a: a.activate(cmd.method_id, by=cmd.by, now=now()))
    return account.find_method(cmd.method_id), account


async def remove_payment_method(cmd: RemovePaymentMethod, uow: Billing) -> BillingAccount:
    """BIL-3: remove a method; the active one only while another usable one exists, which
    then becomes active (see ``BillingAccount.remove``). Returns the account."""
    return await uow.store.accounts.change(
        cmd.company_id, lambda a: a.remove(cmd.method_id, by=cmd.by, now=now()))


async def update_card(cmd: UpdateCard, uow: Billing) -> tuple[PaymentMethod, BillingAccount]:
    """BIL-3: a card's new expiry with the provider's new token for the same card (brand and
    last four digits as stored). Returns (method, account)."""
    account = await uow.store.accounts.load(cmd.company_id)
    method = account.find_method(cmd.method_id)
    if isinstance(method.details, CardDetails):
        # The provider confirms the token for this card, with the new expiry.
        await _checked_card(uow.card_provider, method.details.brand, method.details.last4,
                            cmd.exp_month, cmd.exp_year, cmd.provider_token, cmd.holder_name, "")
    # Another kind is refused inside the write, with the method's kind.
    account = await uow.store.accounts.change(cmd.company_id, lambda a: a.update_card(
        cmd.method_id, exp_month=cmd.exp_month, exp_year=cmd.exp_year,
        provider_token=cmd.provider_token, holder_name=cmd.holder_name, by=cmd.by, now=now()))
    return account.find_method(cmd.method_id), account


async def answer_credit_check(cmd: AnswerCreditCheck, uow: Billing) -> None:
    """The provider's answer to a SEPA credit check; one that fits no pending check of the
    account can never apply: parked (a repaired account may take it when it is replayed)."""
    unknown = PermanentEventError(
        f"no pending credit check {cmd.request_id} for payment method {cmd.method_id} of "
        f"company {cmd.company_id}")

    def apply(account: BillingAccount) -> None:
        if not account.apply_credit_check(request_id=cmd.request_id, method_id=cmd.method_id,
                                          approved=cmd.approved, reason=cmd.reason, now=now()):
            raise unknown  # raised inside the write: the event is not recorded as applied

    await uow.store.accounts.change(cmd.company_id, apply, applied_event=cmd.event_id,
                                    missing=unknown)


# -- subscriptions (BIL-5) -----------------------------------------------------------------------

async def book_subscription(cmd: BookSubscription,
                            uow: Billing) -> tuple[Subscription, BillingAccount]:
    """Book a product; a booking may bring the payment method and billing details with it,
    saved in the same write as the subscription."""
    await uow.store.accounts.load(cmd.company_id)
    details = _checked_details(cmd.details) if cmd.details else None
    method = None
    if cmd.method is not None:
        method = await _new_method(uow, cmd.company_id, cmd.method, by=cmd.by,
                                   field_prefix="payment_method.")
    subscription_id = f"sub_{uuid.uuid4().hex[:16]}"

    def book(account: BillingAccount) -> None:
        at = now()
        if details is not None:
            account.set_details(details, by=cmd.by, now=at)
        if method is not None:
            account.add_method(method, by=cmd.by, now=at)
        account.book(cmd.product_id, cmd.licences, subscription_id, by=cmd.by, now=at)

    account = await uow.store.accounts.change(cmd.company_id, book)
    return account.find_subscription(subscription_id), account


async def change_licences(cmd: ChangeLicences,
                          uow: Billing) -> tuple[Subscription, BillingAccount]:
    account = await uow.store.accounts.change(cmd.company_id, lambda a: a.change_licences(
        cmd.subscription_id, cmd.licences, by=cmd.by, now=now()))
    return account.find_subscription(cmd.subscription_id), account


async def cancel_subscription(cmd: CancelSubscription,
                              uow: Billing) -> tuple[Subscription, BillingAccount]:
    account = await uow.store.accounts.change(
        cmd.company_id, lambda a: a.cancel(cmd.subscription_id, by=cmd.by, now=now()))
    return account.find_subscription(cmd.subscription_id), account


# -- what other systems tell billing -------------------------------------------------------------

async def project_link(cmd: ProjectLink, uow: Billing) -> None:
    """contracts linked or unlinked a customer number; an older event changes nothing."""
    # The numbers of the active contracts the link covers: a mobile-number login reads the
    # invoices of the customer numbers its number runs under (ID-6).
    link = {"link_type": cmd.link_type,
            "access_numbers": sorted({phone_key(n) for n in cmd.access_numbers})} \
        if cmd.linked else {}
    await uow.store.customer_numbers.project(
        company_id=cmd.company_id, number=cmd.customer_number, kind=cmd.kind,
        linked=cmd.linked, link=link, as_of=cmd.as_of)


async def record_invoice(cmd: RecordInvoice, uow: Billing) -> bool:
    """Store an issued invoice against the method active when it was issued, and announce it.

    An invoice for a company billing has no account for is retried (the registration may
    still be on its way), then parked; one whose lines do not add up is parked at once."""
    lines = list(cmd.lines)
    check_lines(lines, cmd.amount_minor)
    account = await uow.store.accounts.get(cmd.company_id)
    if account is None:
        raise UnknownCompany(f"no billing account for company {cmd.company_id} (yet)")
    method = await uow.store.accounts.method_active_at(account, cmd.issued_at)
    invoice = Invoice.record(
        company_id=cmd.company_id, invoice_id=cmd.invoice_id, number=cmd.number,
        issued_at=cmd.issued_at, due_date=cmd.due_date, currency=cmd.currency,
        amount_minor=cmd.amount_minor, lines=lines, customer_number=cmd.customer_number,
        billed_with=method, invoice_email=account.invoice_email, language=account.language,
        event_id=cmd.event_id, now=now())
    if not account.invoice_email:
        log.warning("invoice recorded without an invoice email; no notice sent",
                    company_id=cmd.company_id)
    return await uow.store.invoices.record_once(invoice)
