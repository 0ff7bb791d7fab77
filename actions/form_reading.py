"""What every form (booking, cancel/move, risk check) does with a message before its own slots.

1. A global intent is heard first: a crisis, deleting the conversation, goodbye, stop, asking for
   a person, an FAQ question, small talk. The form extracts nothing from it, Rasa's rules answer
   it (data/form_rules.yml), and the form goes on, pauses or ends.
2. Then the slot the form asked for; then any other slot the message fills.
3. A message that fills nothing is a miss: the form asks again with a hint of what is possible,
   and after MAX_MISSES misses it offers a way out (phone, a counsellor, leaving the form).
"""

import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

from core.content import latest_intent
from core.intents import CRISIS_INTENTS, DECIDED_BY_WORDS_KEY, FOLLOW_UP_INTENT, FOLLOW_UP_KEY
from core.text_normalise import normalise

# Heard before any slot, in every form. "faq" is here too: a question is answered, then the form
# asks again. affirm/deny/inform are not: they are answers.
GLOBAL_INTENTS = set(CRISIS_INTENTS) | {
    "forget_me",
    "goodbye",
    "stop",
    "talk_to_human",
    "faq",
    "out_of_scope",
    "bot_challenge",
    "change_language",
    "thanks",
    "greet",
    FOLLOW_UP_INTENT,
}
# Follow-ups a form reads itself: "vet ikke" is a miss to ask again, "i dag" may be a time.
FORM_READS_FOLLOW_UPS = {"hesitate", "call_today"}
MISSES_KEY = "form_misses"
MAX_MISSES = 2  # re-asks after a miss; the next miss offers a way out


def _ordinal(number: int, words: str) -> str:
    # a bare digit counts only as "nr 2", "#2", "2." or the whole message ("etter 2" is a time)
    return rf"(\b(nr|nummer|number|no|den|the)\s*{number}\b|#\s*{number}\b|\b{number}\.|^\s*{number}\s*$|\b({words})\b)"


ORDINALS = [
    (_ordinal(1, "forste|foerste|fyrste|first|den tidligste|tidligste|earliest|whatever is first|the first one"), 0),
    (_ordinal(2, "andre|second|nummer to|nr to"), 1),
    (_ordinal(3, "tredje|third|nummer tre|nr tre"), 2),
    (_ordinal(4, "fjerde|fourth|nummer fire|nr fire"), 3),
    (r"\b(siste|last|den seineste|seinaste)\b", -1),
]


BUTTON_VALUE = re.compile(r"[a-z][a-z0-9_]{0,39}|\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?[+-]\d\d:\d\d")
# Entities that only a button's payload sets (/inform{"booking_slot": ...}): answers, never global.
ANSWER_ENTITIES = {
    "booking_channel",
    "booking_slot",
    "booking_wish",
    "risk_when",
    "risk_contact",
    "risk_protection",
    "risk_symptoms",
    "risk_pregnancy",
}


def payload_entities(tracker: Tracker) -> Dict[str, Any]:
    """Answers a button set. A payload can be typed or forged, so only values of the buttons'
    own shape count: short words ("phone", "days_2_3") or a time ("2026-12-03T10:00:00+01:00")."""
    return {
        e["entity"]: e.get("value")
        for e in (tracker.latest_message or {}).get("entities") or []
        if e.get("entity") in ANSWER_ENTITIES and isinstance(e.get("value"), str) and BUTTON_VALUE.fullmatch(e["value"])
    }


# Global intents that may also carry an answer ("Da tar jeg den første. Hvor ligger kontoret?"):
# the form reads them, and only when they answer nothing do the rules take them.
# "nei, ikke telefon likevel, ta det på chat" may parse as stop: it is a correction.
# A follow-up too: "ka med rett etter jobb da?" in the booking is a time.
MAY_CARRY_ANSWERS = {
    "faq",
    "thanks",
    "greet",
    "out_of_scope",
    "bot_challenge",
    "change_language",
    "stop",
    FOLLOW_UP_INTENT,
}


def leaves_in_words(tracker: Tracker) -> bool:
    """ "drop it, I'll call you", "nei itj book nåkka": leaving, said in the words that decide it
    (content/intent_guards.yml `decide`, marked by the NLU), so no channel or time is read from it."""
    return latest_intent(tracker) == "stop" and bool((tracker.latest_message or {}).get(DECIDED_BY_WORDS_KEY))


def may_carry_answer(tracker: Tracker) -> bool:
    return latest_intent(tracker) in MAY_CARRY_ANSWERS and not leaves_in_words(tracker)


def heard_first(tracker: Tracker) -> bool:
    """True when the message is a global intent that the rules answer before the form's slots."""
    if payload_entities(tracker):
        return False
    intent = latest_intent(tracker)
    if intent == FOLLOW_UP_INTENT and (tracker.latest_message or {}).get(FOLLOW_UP_KEY) in FORM_READS_FOLLOW_UPS:
        return False
    return intent in GLOBAL_INTENTS


def must_not_be_read(tracker: Tracker) -> bool:
    """A global intent that is never an answer (a crisis, delete, goodbye, a person, a follow-up)."""
    return heard_first(tracker) and not may_carry_answer(tracker)


def misses(tracker: Tracker) -> int:
    return int(float(tracker.get_slot(MISSES_KEY) or 0))


def missed(tracker: Tracker) -> Dict[str, Any]:
    return {MISSES_KEY: float(misses(tracker) + 1)}


def no_miss() -> Dict[str, Any]:
    return {MISSES_KEY: None}


def needs_way_out(tracker: Tracker) -> bool:
    return misses(tracker) > MAX_MISSES


def without_ordinals(text: str) -> str:
    """The text with "nr 2", "den første", "the last one" taken out (so "nr 2" is no date)."""
    lowered = normalise(text)
    for pattern, _ in ORDINALS:
        lowered = re.sub(pattern, " ", lowered)
    return lowered


def ordinal_choice(text: str, options: List[str]) -> Optional[str]:
    """ "den første", "nr 2", "the last one" -> that option; None if the text names no position."""
    lowered = normalise(text)
    for pattern, index in ORDINALS:
        if options and re.search(pattern, lowered) and -len(options) <= index < len(options):
            return options[index]
    return None
