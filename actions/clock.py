"""The action server's clock: what "now" is for bookings and the risk check.

One Clock serves every action; the action server puts it in place when it starts
(services/action_server.py, from the settings' action_server.clock_file, core/settings.py).
Until then, and whenever no file is configured, it is real time. A clock given a file shows the
ISO time with its UTC offset the file holds ("2027-01-12T19:40:00+01:00"): the tests and the
conversation benchmark set ACTION_CLOCK_FILE, so a conversation written for "a Tuesday evening"
happens on a Tuesday evening. The file is read at every call, so a test can change the time
between conversations without a restart; an empty or missing file means real time.
"""

from datetime import datetime

from core.clock import Clock

_clock = Clock()  # real time until the action server sets its own


def use(clock: Clock) -> None:
    """Makes `clock` the one every action reads (once, when the action server starts)."""
    global _clock
    _clock = clock


def now() -> datetime:
    """Now on the action server's clock."""
    return _clock.now()
