"""Two-stage fallback that helps.

First miss: offer the two most likely topics as buttons ("Mente du …?") plus "Noe annet".
Second miss in a row: offer a human counsellor instead of guessing again.
"""

import json
import re
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.crisis_context import crisis_reminder
from core.content import buttons_in, language_of, load, text_in

FALLBACK_INTENT = "nlu_fallback"
# Clicking "Noe annet" or picking a suggestion neither ends nor extends a streak of misses.
NEUTRAL_INTENTS = {"something_else"}
NOT_SUGGESTED = {
    FALLBACK_INTENT,
    "something_else",
    "choose_topic",
    "affirm",
    "deny",
    "greet",
    "goodbye",
    "thanks",
    "out_of_scope",
}
MISSES_BEFORE_HUMAN = 2
SUGGESTIONS = 2


def misses_in_a_row(tracker: Tracker) -> int:
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent == FALLBACK_INTENT:
            count += 1
        elif intent not in NEUTRAL_INTENTS:
            break
    return count


def ranked_topics(parse_data: Dict[str, Any]) -> List[Tuple[str, float]]:
    """Topics by likelihood: the topic classifier's own ranking (components/topic_classifier.py),
    or else the intents with the faq intent expanded into its retrieval keys."""
    if parse_data.get("topic_ranking"):
        return [
            (entry["name"], float(entry.get("confidence") or 0.0))
            for entry in parse_data["topic_ranking"]
            if entry.get("name") and entry["name"] not in NOT_SUGGESTED
        ]
    scored: List[Tuple[str, float]] = []
    selector = (parse_data.get("response_selector") or {}).get("faq") or {}
    for entry in parse_data.get("intent_ranking") or []:
        name, confidence = entry.get("name"), float(entry.get("confidence") or 0.0)
        if name == "faq":
            for candidate in selector.get("ranking") or []:
                key = candidate.get("intent_response_key")
                if key:
                    scored.append((key, confidence * float(candidate.get("confidence") or 0.0)))
        elif name and name not in NOT_SUGGESTED:
            scored.append((name, confidence))
    return sorted(scored, key=lambda item: item[1], reverse=True)


def topic_button(topic: str, titles: Dict[str, Dict[str, str]], language: str) -> Optional[Dict[str, str]]:
    if topic not in titles:
        return None
    payload = f"/choose_topic{json.dumps({'topic': topic})}" if topic.startswith("faq/") else f"/{topic}"
    return {"title": text_in(titles[topic], language), "payload": payload}


YES_FIRST = re.compile(r"^\W*(ja|jo|jepp|japp|jada|yes|yep|yeah|yup|sure|gjerne|ja takk|yes please)\b", re.IGNORECASE)


def starts_with_yes(tracker: Tracker) -> bool:
    return YES_FIRST.match((tracker.latest_message or {}).get("text") or "") is not None


class ActionHandleFallback(Action):
    def name(self) -> Text:
        return "action_handle_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        texts = load("fallback.yml")
        language = language_of(tracker)
        reminder = crisis_reminder(tracker)
        if reminder:  # not understood after a crisis answer: the lines that help now, and a person
            dispatcher.utter_message(text=reminder, buttons=buttons_in(texts["human_offer_buttons"], language))
            return [SlotSet("suggested_topics", None)]
        if starts_with_yes(tracker):  # "ja book. ikke kontoret, telefon funker": a yes to the offer just made
            from actions.in_form import ActionYesOutOfContext, offer_just_made

            if offer_just_made(tracker) or tracker.get_slot("paused_form"):
                return await ActionYesOutOfContext().run(dispatcher, tracker, domain)
        if misses_in_a_row(tracker) >= MISSES_BEFORE_HUMAN:
            dispatcher.utter_message(
                text=text_in(texts["human_offer"], language), buttons=buttons_in(texts["human_offer_buttons"], language)
            )
            return [SlotSet("suggested_topics", None)]

        titles = load("topic_titles.yml")
        buttons, topics = [], []
        for topic, _ in ranked_topics(tracker.latest_message or {}):
            button = topic_button(topic, titles, language)
            if button and topic not in topics:
                buttons.append(button)
                topics.append(topic)
            if len(topics) == SUGGESTIONS:
                break
        buttons.append({"title": text_in(texts["something_else"], language), "payload": "/something_else"})
        dispatcher.utter_message(text=text_in(texts["suggest_prompt"], language), buttons=buttons)
        return [SlotSet("suggested_topics", topics)]


ORDINALS = {
    0: r"\b(1|first|fyrste|forste|første|nummer en)\b",
    1: r"\b(2|to|two|second|andre)\b",
}
LAST = r"\b(siste|last)\b"


def topic_from_text(text: str, suggested: List[str]) -> Optional[str]:
    """Maps a typed choice ("den første", "nr 2", "the last one") to a suggested topic."""
    lowered = (text or "").lower()
    if suggested and re.search(LAST, lowered):
        return suggested[-1]
    for index, pattern in ORDINALS.items():
        if index < len(suggested) and re.search(pattern, lowered):
            return suggested[index]
    return None


class ActionAnswerTopic(Action):
    def name(self) -> Text:
        return "action_answer_topic"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        topic = next(tracker.get_latest_entity_values("topic"), None)
        if topic is None:
            topic = topic_from_text(tracker.latest_message.get("text"), tracker.get_slot("suggested_topics") or [])
        responses = domain.get("responses") or {}
        if topic and topic.startswith("faq/") and f"utter_{topic}" in responses:
            dispatcher.utter_message(response=f"utter_{topic}")
        else:
            dispatcher.utter_message(response="utter_ask_rephrase")  # its one text is in domain.yml
        return [SlotSet("suggested_topics", None)]
