"""Company login domains (ID-14, seed 002): "admin@cégnév", "felhasználónév@cégnév".

Each company owns a short handle, unique across companies; a username ``name@handle`` can
only be given inside the company that owns ``handle``, and ``admin@handle`` is its master
administrator's login id. Usernames without ``@`` are not tied to a company. No I/O.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterator
from typing import Annotated

from pydantic import StringConstraints

from shared.auth import COMPANY_ADMIN
from shared.errors import InvalidInput

MIN_LENGTH, MAX_LENGTH = 3, 30
LoginDomain = Annotated[str, StringConstraints(
    min_length=MIN_LENGTH, max_length=MAX_LENGTH, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
# The local part reserved for the master administrator (seed 002: "admin@cégnév").
ADMIN = "admin"
# Letters NFKD does not take apart into a base letter and marks.
_LETTERS = str.maketrans({"ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
                          "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d",
                          "ð": "d", "Ð": "d", "þ": "th", "Þ": "th", "ı": "i"})
_LEGAL_FORMS = {"gmbh", "kft", "zrt", "nyrt", "bt", "kg", "ag", "ohg", "ug", "ltd", "llc",
                "inc", "sa", "sarl", "bv", "nv", "co", "se", "plc", "ev"}
# Suffixes -2 … -9 are tried in order, then random ones: a proposal costs a bounded number of
# claims however many companies share a name.
NUMBERED_SUFFIXES = 8
RANDOM_SUFFIXES = 5


def transliterate(name: str) -> str:
    """Latin letters without their marks (é→e, ő→o, ß→ss); other scripts drop out (stdlib
    only: company names here are Latin-script, and the administrator can change the result)."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).encode(
        "ascii", "ignore").decode()


def propose(company_name: str) -> str:
    """The handle a company name suggests: "Kovács és Társa Kft." → "kovacs-es-tarsa". The
    legal form is left out when something else remains."""
    words = re.findall(r"[a-z0-9]+", transliterate(company_name).lower())
    core = [w for w in words if w not in _LEGAL_FORMS] or words
    handle = ""
    for word in core:
        joined = f"{handle}-{word}" if handle else word
        if len(joined) > MAX_LENGTH - 3:   # room for a "-nn" suffix
            break
        handle = joined
    if not handle and core:
        handle = core[0][:MAX_LENGTH - 3]
    if len(handle) < MIN_LENGTH:
        handle = f"{handle}-co" if handle else "company"
    return handle


def candidates(company_name: str) -> Iterator[str]:
    """The proposal, then numbered, then random variants (a bounded number in all)."""
    base = propose(company_name)
    yield base
    for n in range(2, 2 + NUMBERED_SUFFIXES):
        yield f"{base}-{n}"
    short = base[:MAX_LENGTH - 5].rstrip("-")   # room for "-" and four hex digits
    for _ in range(RANDOM_SUFFIXES):
        yield f"{short}-{secrets.token_hex(2)}"


def split(username: str) -> tuple[str, str | None]:
    """``name@handle`` → (name, handle); a username without ``@`` → (username, None)."""
    name, at, domain = username.partition("@")
    return (name, domain.lower()) if at else (username, None)


def normalise_username(username: str) -> str:
    """The handle part in lower case (handles are lower-case), the name as written."""
    name, domain = split(username)
    return f"{name}@{domain}" if domain is not None else username


def with_domain(username: str, handle: str) -> str:
    return f"{split(username)[0]}@{handle}"


def check_username(username: str, company_handle: str | None, roles: list[str]) -> None:
    """A ``name@handle`` username only with the company's own handle, and ``admin@handle``
    only for a company administrator."""
    name, domain = split(username)
    if domain is None:
        return
    if domain != company_handle:
        raise InvalidInput([{
            "field": "username", "rule": "own_login_domain",
            "message": f"the part after @ must be your company's login domain "
                       f"'{company_handle}', or choose a username without @"}])
    if name.lower() == ADMIN and COMPANY_ADMIN not in roles:
        raise InvalidInput([{
            "field": "username", "rule": "admin_reserved",
            "message": "admin@ is the company administrator's login id"}])
