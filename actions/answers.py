"""Answers to FAQ topics, with what the message asked besides.

- `action_after_answer`: after `utter_faq` (which Rasa answers itself, so the answer comes even
  with the action server down): "Les også: …" with a button when the same message also asked
  about a second topic (`second_topic`).
- `action_after_crisis`: after the emergency numbers, the answer to an ordinary question the
  crisis message also asked (`deferred_topic`), so the person is heard on both; and for someone
  who writes about their own sexual thoughts about children, the help that exists for them.
Both remember the topic answered (slot `last_topic`) for follow-up questions.
"""

import json
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.crisis_context import crisis_reminder
from core.content import language_of, load, text_in
from core.phrase_matcher import PhraseMatcher

RETRIEVAL_PREFIX = "faq/"


def answered_topic(tracker: Tracker) -> Optional[str]:
    """The FAQ topic of the latest message, as the NLU's response selector chose it."""
    selector = ((tracker.latest_message or {}).get("response_selector") or {}).get("faq") or {}
    return (selector.get("response") or {}).get("intent_response_key")


def has_answer(topic: Optional[str], domain: Dict[Text, Any]) -> bool:
    return bool(topic) and topic.startswith(RETRIEVAL_PREFIX) and f"utter_{topic}" in (domain.get("responses") or {})


def topic_title(topic: str, language: str) -> Optional[str]:
    entry = load("topic_titles.yml").get(topic)
    return text_in(entry, language) if entry else None


def topic_button(topic: str, language: str) -> Optional[Dict[str, str]]:
    title = topic_title(topic, language)
    if title is None:
        return None
    return {"title": title, "payload": f"/choose_topic{json.dumps({'topic': topic})}"}


class ActionAfterAnswer(Action):
    def name(self) -> Text:
        return "action_after_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        topic = answered_topic(tracker)
        if not has_answer(topic, domain):
            return []
        second = (tracker.latest_message or {}).get("second_topic")
        language = language_of(tracker)
        if second != topic and has_answer(second, domain):
            button = topic_button(second, language)
            if button:
                dispatcher.utter_message(text=text_in(load("answers.yml")["read_also"], language), buttons=[button])
        reminder = crisis_reminder(tracker)
        if reminder:  # shortly after a crisis answer, the numbers stay in sight
            dispatcher.utter_message(text=reminder)
        return [SlotSet("last_topic", topic)]


def answer_mentions(domain: Dict[Text, Any], response: str, words: str) -> bool:
    """True when a response of the domain already says `words` (a number, say) in some variation."""
    return any(
        words in (variation.get("text") or "") for variation in (domain.get("responses") or {}).get(response, [])
    )


class ActionAfterCrisis(Action):
    def name(self) -> Text:
        return "action_after_crisis"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        crisis = (tracker.latest_message.get("intent") or {}).get("name")
        events: List[EventType] = []
        language = language_of(tracker)
        urges = ((load("follow_ups.yml").get("after_crisis") or {}).get(crisis) or {}).get("own_urges")
        text = tracker.latest_message.get("text") or ""
        if urges and PhraseMatcher({"own": urges["phrases"]}).best_match(text):
            dispatcher.utter_message(text=text_in(urges, language))
        minor = load("answers.yml").get("minor") or {}
        if (
            minor
            and PhraseMatcher({"minor": minor["patterns"]}).best_match(text)
            and not answer_mentions(domain, f"utter_{crisis}", minor["unless_answer_has"])
        ):
            dispatcher.utter_message(text=text_in(minor, language))
        topic = (tracker.latest_message or {}).get("deferred_topic")
        if not has_answer(topic, domain):
            return events
        title = topic_title(topic, language) or topic
        dispatcher.utter_message(text=text_in(load("answers.yml")["deferred_intro"], language).format(title=title))
        dispatcher.utter_message(response=f"utter_{topic}")
        return events + [SlotSet("last_topic", topic)]
