"""Booking reference codes that are easy to read aloud and type, and too many to guess.

Letters and digits that look or sound alike (0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V, G/6) are left out.
Eight characters of 20 give 2.6·10¹⁰ codes; with the PIN (core/booking_pins.py) and the
limits on failed tries, guessing a booking is hopeless. Six-character codes from before stay valid.
"""

import re
import secrets
from typing import Iterator, Tuple

ALPHABET = "ACDEFHJKMNPRTWXY3479"
LENGTH = 8
OLD_LENGTH = 6
_TYPED = re.compile(r"[^A-Z0-9]")


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(typed: str) -> str:
    """Accepts what users type: lower case, spaces, missing or extra dashes."""
    raw = _TYPED.sub("", (typed or "").upper())
    if len(raw) == LENGTH:
        return f"{raw[:4]}-{raw[4:]}"
    return f"{raw[:3]}-{raw[3:]}" if len(raw) == OLD_LENGTH else raw


def looks_like_code(typed: str) -> bool:
    raw = _TYPED.sub("", (typed or "").upper())
    return len(raw) in (LENGTH, OLD_LENGTH) and all(ch in ALPHABET for ch in raw)


# A code as people write it: "ACDE-479K", "acde 479k", "acde479k", the older "ACD-479".
_CODE_CHAR = f"[{ALPHABET}]"
_CODE_IN_TEXT = re.compile(
    rf"(?<![A-Z0-9ÆØÅ-])(?:{_CODE_CHAR}{{4}}(?:(?P<dash>-)|(?P<space> ))?{_CODE_CHAR}{{4}}"
    rf"|{_CODE_CHAR}{{3}}(?:(?P<dash3>-)|(?P<space3> ))?{_CODE_CHAR}{{3}})(?![A-Z0-9ÆØÅ-])"
)


def codes_in_text(text: str, asked: bool = False) -> Iterator[Tuple[int, int, str]]:
    """(start, end, code) of each reference code in a message. Words can look like codes ("den
    nye", "fremme", "jkkk nnnn"), so one without a digit counts only with its dash, or with a
    space when the code was just asked for (the older six-character form with a space only as the
    whole message: "har den" in a sentence is two words); eight digits are a phone number."""
    upper = (text or "").upper()
    for found in _CODE_IN_TEXT.finditer(upper):
        written = found.group(0)
        if not any(ch.isalpha() for ch in written):
            continue
        dash = found["dash"] or found["dash3"]
        space = found["space"] or found["space3"]
        alone = upper.strip(" .,!?:;\"'«»") == written
        if any(ch.isdigit() for ch in written) or dash or (asked and space and (found["space"] or alone)):
            yield found.start(), found.end(), normalise_code(written)


def without_codes(text: str) -> str:
    """The message with its reference codes taken out (a code is not a word of the language)."""
    for start, end, _ in reversed(list(codes_in_text(text))):
        text = text[:start] + " " + text[end:]
    return text
