"""The secrets the gateway, Rasa and the action server share, and the headers that carry them.

They travel through the environment only (never the command line, where `ps` shows them);
core/settings.py reads them there (required_secret).
"""

import hmac

from core.settings import required_secret

GATEWAY_HEADER = "X-Gateway-Secret"  # gateway → Rasa's channel
ACTION_HEADER = "X-Action-Secret"  # Rasa → action server
GATEWAY_SECRET_ENV = "RASA_CHANNEL_SECRET"
ACTION_SECRET_ENV = "ACTION_SERVER_SECRET"


def required(name: str) -> str:
    """A secret from the environment; a service never starts open because one is missing."""
    return required_secret(name)


def matches(given: str, expected: str) -> bool:
    return hmac.compare_digest((given or "").encode(), expected.encode())
