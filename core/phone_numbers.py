"""The phone number a user gives for a booked call: how it is read, shown and kept out of Rasa.

The gateway swaps the number in the user's message for a handle ("[telefon kqzwmvbxtrpl]") and
keeps the number in the bookings database (core/booking_store.py, table phone_handles), so
Rasa's tracker never holds it; the action server turns the handle back into the number when it
books. Everywhere but the counsellors' page the number is shown masked.
"""

import re
import secrets
import string
from typing import Optional, Tuple

import phonenumbers

HANDLE_LENGTH = 12
_HANDLE = re.compile(rf"\[telefon ([a-z]{{{HANDLE_LENGTH}}})\]")
_NUMBER_SPAN = re.compile(r"\+?\d[\d\s().-]*\d")


LANDLINE_OR_MOBILE, MOBILE = "23456789", "49"  # first digit of eight in Norway's number plan


def in_norwegian_range(number: phonenumbers.PhoneNumber, first_digits: str = LANDLINE_OR_MOBILE) -> bool:
    """Eight digits in a Norwegian range (2-7 landline, 4 and 9 mobile). Not "is_valid_number":
    its table of allocated blocks lags behind new mobile series."""
    national = str(number.national_number)
    return number.country_code == 47 and len(national) == 8 and national[0] in first_digits


def norwegian_phone(text: str) -> Optional[str]:
    """A Norwegian number written by a user, formatted for the counsellor; None if not one."""
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    if not digits:
        return None
    try:
        number = phonenumbers.parse(digits, "NO")
    except phonenumbers.NumberParseException:
        return None
    if not in_norwegian_range(number):  # a caller is never refused for a new series
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def masked_phone(number: Optional[str]) -> str:
    """ "+47 91 23 45 67" → "+47 •• •• 45 67": enough to recognise one's own number, not to call it."""
    digits = [ch for ch in (number or "") if ch.isdigit()]
    if len(digits) < 4:
        return "•• •• •• ••"
    return f"+47 •• •• {''.join(digits[-4:-2])} {''.join(digits[-2:])}"


def new_handle() -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(HANDLE_LENGTH))


def handle_text(handle: str) -> str:
    return f"[telefon {handle}]"


def handle_in(text: Optional[str]) -> Optional[str]:
    found = _HANDLE.search(text or "")
    return found.group(1) if found else None


def find_phone(text: str) -> Optional[Tuple[str, int, int]]:
    """The first Norwegian number written in a message ("torsdag, 912 34 567"), with its span."""
    for written in _NUMBER_SPAN.finditer(text or ""):
        number = norwegian_phone(written.group(0))
        if number:
            return number, written.start(), written.end()
    return None


def with_handle(text: str, start: int, end: int, handle: str) -> str:
    """The message with the number at text[start:end] replaced by the handle."""
    return text[:start] + handle_text(handle) + text[end:]


def without_handles(text: str) -> str:
    """What a history shows of a message that held a number (the number itself is not in Rasa)."""
    return _HANDLE.sub("[telefonnummer]", text)
