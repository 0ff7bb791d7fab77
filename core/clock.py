"""A clock that is real time, or the moment a file holds (tests and the conversation benchmark).

The file holds an ISO time with its UTC offset ("2027-01-12T19:40:00+01:00") and is read at
every call, so a test can change the time without a restart; an empty or missing file, or no
file at all, means real time. The action server's clock (actions/clock.py) and the gateway's
staffed-hours check (bot/handoff.py, HANDOFF_CLOCK_FILE) use it.
"""

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional


class Clock:
    def __init__(self, file: Optional[Path] = None) -> None:
        self.file = file

    def now(self) -> datetime:
        """Now, timezone-aware (UTC unless the clock file says otherwise)."""
        if self.file:
            try:
                text = self.file.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                text = ""
            if text:
                moment = datetime.fromisoformat(text)
                if moment.tzinfo is None:
                    raise ValueError(f"{self.file}: the clock needs a UTC offset, e.g. +01:00")
                return moment
        return datetime.now(timezone.utc)
