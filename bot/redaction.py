"""Masks identifying numbers and addresses in a user's message before it reaches Rasa (and so the
tracker store and any log): Norwegian national ID numbers (fødselsnummer and D-nummer, checked
with their control digits), e-mail addresses and phone numbers. A phone number is let through
only when the booking form has just asked for one.
"""

import re
from dataclasses import dataclass, field
from typing import Set

import phonenumbers
from stdnum.no import fodselsnummer

from core.phone_numbers import MOBILE, in_norwegian_range

# Eleven digits, also written as a date and a number ("15.03.85 101 90", "150385-10190"); only
# those that pass the control digits are masked.
_SEP = r"[ .-]?"
ID_NUMBER = re.compile(rf"(?<!\d)(\d\d{_SEP}\d\d{_SEP}\d\d){_SEP}(\d{{3}}{_SEP}\d\d)(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
MASKS = {"id_number": "[fødselsnummer]", "email": "[e-post]", "phone": "[telefonnummer]"}


@dataclass
class Redacted:
    text: str
    found: Set[str] = field(default_factory=set)  # which kinds were masked: id_number, email, phone


def redact(text: str, phone_expected: bool = False) -> Redacted:
    found: Set[str] = set()

    def id_number(match: re.Match) -> str:
        if fodselsnummer.is_valid(re.sub(r"\D", "", match.group(1) + match.group(2))):
            found.add("id_number")
            return MASKS["id_number"]
        return match.group(0)

    text = ID_NUMBER.sub(id_number, text)
    text, emails = EMAIL.subn(MASKS["email"], text)
    if emails:
        found.add("email")
    if not phone_expected:
        # A number in any allocated range, or a Norwegian mobile number (eight digits from 4 or 9)
        # where the library's table of allocated blocks lags behind new series: 4536 0000 too.
        matches = phonenumbers.PhoneNumberMatcher(text, "NO", leniency=phonenumbers.Leniency.POSSIBLE)
        phones = [m for m in matches if phonenumbers.is_valid_number(m.number) or in_norwegian_range(m.number, MOBILE)]
        for match in reversed(phones):  # from the end, so earlier positions stay valid while replacing
            text = text[: match.start] + MASKS["phone"] + text[match.end :]
            found.add("phone")
    return Redacted(text, found)
