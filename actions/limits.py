"""Limits on bookings and on tries to open one (environment variables, documented in the README).

They hold per conversation and per client: the gateway's pseudonym of the network address for
the web, the chat for Telegram (metadata "client" of each message)."""
import os
from datetime import timedelta


def _number(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip().isdigit() else default


BOOKINGS_PER_SESSION = _number("BOOKINGS_PER_SESSION", 1)            # active bookings per conversation
BOOKINGS_PER_CLIENT_PER_DAY = _number("BOOKINGS_PER_ADDRESS_PER_DAY", 6)  # shared addresses (mobile NAT) need room
FAILED_TRIES_PER_CODE = _number("MANAGE_TRIES_PER_CODE", 5)           # per reference, per day
FAILED_TRIES_PER_CLIENT = _number("MANAGE_TRIES_PER_ADDRESS", 10)     # per address, per day
TRIES_WINDOW = timedelta(days=1)
