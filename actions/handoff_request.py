"""Asking for a person: the action tells the gateway, which owns the live chat (bot/handoff.py).

The request carries what the counsellors' queue shows instead of text: whether the conversation
had a crisis, and the topics the bot saw.
"""

from typing import List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from core.intents import CRISIS_INTENTS, RETRIEVAL_INTENT
from core.protocol import HANDOFF_MARKER

NOT_TOPICS = {
    "greet",
    "goodbye",
    "affirm",
    "deny",
    "thanks",
    "talk_to_human",
    "nlu_fallback",
    "bot_challenge",
    "follow_up",
}
MOST_TOPICS = 6


def topics_seen(tracker: Tracker) -> List[str]:
    """The intents (an FAQ's full name, "faq/pep") of the user's messages, first seen first."""
    seen: List[str] = []
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        name = (parse.get("intent") or {}).get("name")
        if name == RETRIEVAL_INTENT:
            selected = ((parse.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}).get("response") or {}
            name = selected.get("intent_response_key") or name
        if name and name not in NOT_TOPICS and name not in seen:
            seen.append(name)
    return seen[-MOST_TOPICS:]


def ask_for_counsellor(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    topics = topics_seen(tracker)
    crisis = any(topic in CRISIS_INTENTS for topic in topics)
    dispatcher.utter_message(json_message={HANDOFF_MARKER: {"crisis": crisis, "topics": topics}})
