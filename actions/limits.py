"""Limits on bookings and on tries to open one (the settings' BookingLimits, core/settings.py;
environment variables documented in the README). The action server puts the configured ones in
place when it starts (use()); until then they are the defaults.

They hold per conversation and per client: the gateway's pseudonym of the network address for
the web, the chat for Telegram (metadata "client" of each message)."""

from core.settings import BookingLimits

_DEFAULTS = BookingLimits()
BOOKINGS_PER_SESSION = _DEFAULTS.per_session  # active bookings per conversation
BOOKINGS_PER_CLIENT_PER_DAY = _DEFAULTS.per_client_per_day  # shared addresses (mobile NAT) need room
FAILED_TRIES_PER_CODE = _DEFAULTS.failed_tries_per_code  # per reference, per day
FAILED_TRIES_PER_CLIENT = _DEFAULTS.failed_tries_per_client  # per address, per day
TRIES_WINDOW = _DEFAULTS.tries_window


def use(limits: BookingLimits) -> None:
    """Makes `limits` the ones every action checks (once, when the action server starts)."""
    global BOOKINGS_PER_SESSION, BOOKINGS_PER_CLIENT_PER_DAY, FAILED_TRIES_PER_CODE, FAILED_TRIES_PER_CLIENT
    global TRIES_WINDOW
    BOOKINGS_PER_SESSION = limits.per_session
    BOOKINGS_PER_CLIENT_PER_DAY = limits.per_client_per_day
    FAILED_TRIES_PER_CODE = limits.failed_tries_per_code
    FAILED_TRIES_PER_CLIENT = limits.failed_tries_per_client
    TRIES_WINDOW = limits.tries_window
