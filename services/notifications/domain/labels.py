"""Names of roles, rights, payment methods and number kinds as each language says them."""

from __future__ import annotations

LABELS: dict[str, dict[str, dict[str, str]]] = {
    "de": {
        "role": {"company_admin": "Firmenadministrator/in", "billing_admin":
                 "Rechnungsadministrator/in", "user": "Benutzer/in",
                 "sub_admin": "Sub-Administrator/in"},
        "right": {"order": "Bestellungen", "cancel": "Kündigungen",
                  "technical_change": "technische Änderungen",
                  "billing_question": "Rechnungsfragen", "view": "Einsicht"},
        "method": {"landline_bill": "Abrechnung über Ihren Festnetzvertrag",
                   "mobile_bill": "Abrechnung über Ihren Mobilfunkvertrag",
                   "credit_card": "Kreditkarte", "paypal": "PayPal",
                   "sepa_debit": "SEPA-Lastschrift"},
        "number": {"landline": "Festnetz", "mobile": "Mobilfunk"},
    },
    "en": {
        "role": {"company_admin": "company administrator", "billing_admin":
                 "billing administrator", "user": "user", "sub_admin": "sub-administrator"},
        "right": {"order": "placing orders", "cancel": "cancellations",
                  "technical_change": "technical changes",
                  "billing_question": "billing enquiries", "view": "viewing"},
        "method": {"landline_bill": "billing via your landline contract",
                   "mobile_bill": "billing via your mobile contract",
                   "credit_card": "credit card", "paypal": "PayPal",
                   "sepa_debit": "SEPA direct debit"},
        "number": {"landline": "landline", "mobile": "mobile"},
    },
    "hu": {
        "role": {"company_admin": "céges adminisztrátor", "billing_admin":
                 "számlázási adminisztrátor", "user": "felhasználó",
                 "sub_admin": "aladminisztrátor"},
        "right": {"order": "megrendelés", "cancel": "felmondás",
                  "technical_change": "műszaki módosítás",
                  "billing_question": "számlázási ügyintézés", "view": "betekintés"},
        "method": {"landline_bill": "vezetékes szerződésén keresztüli számlázás",
                   "mobile_bill": "mobilszerződésén keresztüli számlázás",
                   "credit_card": "bankkártya", "paypal": "PayPal",
                   "sepa_debit": "SEPA csoportos beszedés"},
        "number": {"landline": "vezetékes", "mobile": "mobil"},
    },
}


def label(language: str, group: str, name: str) -> str:
    return LABELS[language][group].get(name, name)
