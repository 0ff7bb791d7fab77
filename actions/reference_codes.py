"""Booking reference codes that are easy to read aloud and type, and too many to guess.

Letters and digits that look or sound alike (0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V, G/6) are left out.
Eight characters of 20 give 2.6·10¹⁰ codes; with the PIN (actions/booking_pins.py) and the
limits on failed tries, guessing a booking is hopeless. Six-character codes from before stay valid.
"""
import re
import secrets

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
