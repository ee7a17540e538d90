"""Dates, times and amounts the way each language writes them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"],
    "hu": ["január", "február", "március", "április", "május", "június", "július",
           "augusztus", "szeptember", "október", "november", "december"],
}
_SYMBOLS = {"EUR": "€", "HUF": "Ft", "USD": "$", "GBP": "£", "CHF": "CHF"}


def format_date(day: date, language: str) -> str:
    month = _MONTHS[language][day.month - 1]
    if language == "de":
        return f"{day.day}. {month} {day.year}"
    if language == "hu":
        return f"{day.year}. {month} {day.day}."
    return f"{day.day} {month} {day.year}"


def format_datetime(moment: datetime, language: str, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    clock = local.strftime("%H:%M")
    label = local.tzname() or ""
    if language == "de":
        return f"{format_date(local.date(), language)}, {clock} Uhr ({label})"
    return f"{format_date(local.date(), language)} {clock} ({label})"


def format_money(amount_minor: int, currency: str, language: str) -> str:
    """``4990, "EUR"`` → "49,90 €" (de), "€49.90" (en), "49,90 €" (hu); forints whole."""
    symbol = _SYMBOLS.get(currency, currency)
    sign = "-" if amount_minor < 0 else ""
    units, cents = divmod(abs(amount_minor), 100)
    if currency == "HUF":
        whole = f"{round(abs(amount_minor) / 100):,}".replace(",", "\u00a0")
        return f"{sign}{whole}\u00a0Ft" if language != "en" else f"{sign}HUF {whole}"
    if language == "en":
        return f"{sign}{symbol}{units:,}.{cents:02d}"
    grouped = f"{units:,}".replace(",", "." if language == "de" else "\u00a0")
    return f"{sign}{grouped},{cents:02d}\u00a0{symbol}"


# Hungarian says how long with the terminative case ("10 napig" = for 10 days).
_DURATION_UNITS = {
    "en": {"day": ("day", "days"), "hour": ("hour", "hours"), "minute": ("minute", "minutes")},
    "de": {"day": ("Tag", "Tage"), "hour": ("Stunde", "Stunden"),
           "minute": ("Minute", "Minuten")},
    "hu": {"day": ("napig", "napig"), "hour": ("óráig", "óráig"),
           "minute": ("percig", "percig")},
}


def format_duration(seconds: float, language: str) -> str:
    """A configured validity in the largest whole unit: "10 Tage", "48 hours", "30 percig"."""
    whole = max(60, round(seconds / 60) * 60)  # validities are whole minutes at least
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if whole % size == 0:
            n = whole // size
            one, many = _DURATION_UNITS[language][unit]
            return f"{n} {one if n == 1 else many}"
    raise AssertionError("a whole number of minutes")
