"""The product catalogue (BIL-5): a small fixed list; prices in cents per licence and month."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    unit_price_minor: int
    currency: str
    max_licences: int = 300


PRODUCTS = {p.id: p for p in (
    Product("m365-business-basic", "Microsoft 365 Business Basic", 560, "EUR"),
    Product("m365-business-standard", "Microsoft 365 Business Standard", 1170, "EUR"),
    Product("companyflex", "CompanyFlex", 1995, "EUR", max_licences=1000),
    Product("cloud-pbx", "Cloud PBX", 890, "EUR", max_licences=1000),
)}
