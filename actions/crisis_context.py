"""Which crisis, if any, frames the answers now: a crisis answered in one of the user's last few
messages keeps its numbers in sight and gives follow-ups their meaning (content/follow_ups.yml)."""

from typing import Any, Dict, Optional

from rasa_sdk import Tracker

from core.content import language_of, load, text_in
from core.intents import CRISIS_INTENTS

CRISIS_FRAME_TURNS = 4  # a crisis frames the answers to this many of the user's next messages


def recent_crisis(tracker: Tracker, within: int = CRISIS_FRAME_TURNS) -> Optional[str]:
    """The crisis intent of one of the user's last `within` earlier messages, if any."""
    seen = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if seen:  # the latest message itself is not "earlier"
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in CRISIS_INTENTS:
                return intent
        seen += 1
        if seen > within:
            break
    return None


def crisis_frame(tracker: Tracker, within: int = CRISIS_FRAME_TURNS) -> Dict[str, Any]:
    crisis = recent_crisis(tracker, within)
    return ((load("follow_ups.yml").get("after_crisis") or {}).get(crisis) or {}) if crisis else {}


def crisis_reminder(tracker: Tracker, within: int = CRISIS_FRAME_TURNS) -> Optional[str]:
    """The recent crisis's numbers in the conversation's language; None without a recent crisis."""
    entry = crisis_frame(tracker, within).get("reminder")
    return text_in(entry, language_of(tracker)) if entry else None
