"""What may reach Rasa as a "/intent{…}" payload: only the shape the bot's own buttons use.

Rasa reads any message that starts with "/" as an intent, and warns, quoting it, when the intent
is unknown. So a payload must name an intent of the domain, with at most a flat JSON object of
short values; any other message starting with "/" goes to Rasa as text.
"""

import json
import re
from functools import lru_cache
from typing import FrozenSet

import yaml

from core.protocol import FEEDBACK_PAYLOADS
from core.settings import PROJECT_ROOT

_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]{1,64})(?P<entities>\{.*\})?$", re.DOTALL)


@lru_cache(maxsize=1)
def domain_intents() -> FrozenSet[str]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return frozenset(next(iter(i)) if isinstance(i, dict) else i for i in domain.get("intents") or [])


def is_button_payload(payload: str) -> bool:
    if payload in FEEDBACK_PAYLOADS:  # the gateway's own buttons (never passed to Rasa)
        return True
    found = _PAYLOAD.match(payload or "")
    if not found or found["intent"] not in domain_intents():
        return False
    if found["entities"] is None:
        return True
    try:
        entities = json.loads(found["entities"])
    except (ValueError, RecursionError):
        return False
    return isinstance(entities, dict) and all(
        re.fullmatch(r"[a-z_]{1,40}", key) and isinstance(value, str) and len(value) <= 100
        for key, value in entities.items()
    )


def as_typed_text(text: str) -> str:
    """A message for Rasa: a button payload as it is (the HTTP API's clients send taps as text),
    anything else starting with "/" as plain text ("/restart" reaches the NLU as "restart")."""
    return text if not text.startswith("/") or is_button_payload(text) else text.lstrip("/")
