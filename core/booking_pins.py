"""The PIN that goes with a booking's reference: the second factor for managing a booking from
another conversation than the one that made it (the reference alone may be seen or guessed).

Shown once, with the reference. Stored as a salted hash; an unknown reference and a wrong PIN
get the same answer, and failed tries are limited per reference and per address
(actions/limits.py), so neither can be found by trying.
"""

import hashlib
import hmac
import re
import secrets
from typing import Optional

LENGTH = 4
_PIN = re.compile(r"(?<![\dA-Za-z])(\d[ ]?\d[ ]?\d[ ]?\d)(?![\d])")


def new_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(LENGTH))


def pin_hash(reference: str, pin: str) -> str:
    return hashlib.sha256(f"booking-pin\n{reference}\n{pin}".encode()).hexdigest()


def pin_matches(reference: str, pin: str, stored_hash: Optional[str]) -> bool:
    return stored_hash is not None and bool(stored_hash) and hmac.compare_digest(pin_hash(reference, pin), stored_hash)


def pin_in_text(text: str, code: Optional[str] = None) -> Optional[str]:
    """Four digits in a message ("4821", "pin 48 21"), not counting the reference's own digits."""
    text = text or ""
    if code:
        raw = code.replace("-", "")
        text = re.sub(r"[\s-]*".join(map(re.escape, raw)), " ", text, flags=re.IGNORECASE)
    found = _PIN.search(text)
    return found.group(1).replace(" ", "") if found else None
