"""The action server's clock: what "now" is for bookings and the risk check.

Real time, unless ACTION_CLOCK_FILE names a file that holds an ISO time with its UTC offset
("2027-01-12T19:40:00+01:00"): the tests and the conversation benchmark set it, so a
conversation written for "a Tuesday evening" happens on a Tuesday evening. The file is read at
every call, so a test can change the time between conversations without a restart.
"""
import os
from datetime import datetime, timezone
from pathlib import Path


def now() -> datetime:
    """Now, timezone-aware (UTC unless the clock file says otherwise)."""
    path = os.environ.get("ACTION_CLOCK_FILE")
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            text = ""
        if text:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                raise ValueError(f"{path}: the clock needs a UTC offset, e.g. +01:00")
            return moment
    return datetime.now(timezone.utc)
