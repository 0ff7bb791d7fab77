"""Answers follow-up questions in the frame of what came before (content/follow_ups.yml).

After a crisis answer (actions/crisis_context.py), a follow-up stays with the crisis: the numbers again
when the person hesitates, help without a police report, what is and isn't illegal for them,
someone to talk to today. After an FAQ answer (slot last_topic), "hvor får jeg det?", "hva med
hiv?" or "er det farlig?" are answered about that topic. With no context, the message is
answered as the topic classifier understood it.
"""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import has_answer
from actions.crisis_context import crisis_frame
from actions.handoff_request import ask_for_counsellor
from core.content import language_of, load, service_details, text_in
from core.intents import FOLLOW_UP_INTENT, FOLLOW_UP_KEY

RISK_TOPICS = {"faq/risk_after_sex", "faq/pep", "faq/emergency_contraception", "faq/risk_oral_sex"}
TOPIC_KINDS = ("faq/sti_", "faq/test_")  # "hva med hiv?" after a test or infection topic
# The `infection` entity's values (data/nlu/lookups.yml synonyms) and their FAQ topics.
INFECTION_TOPICS = {
    "klamydia": "faq/sti_chlamydia",
    "gonoré": "faq/sti_gonorrhoea",
    "syfilis": "faq/sti_syphilis",
    "hiv": "faq/sti_hiv",
    "herpes": "faq/sti_herpes",
    "kondylomer": "faq/sti_hpv_warts",
    "hpv": "faq/sti_hpv_warts",
    "mykoplasma": "faq/sti_mycoplasma",
    "hepatitt": "faq/sti_hepatitis",
    "mpox": "faq/sti_mpox",
    "trikomonas": "faq/sti_other",
    "soppinfeksjon": "faq/sti_other",
    "bakteriell vaginose": "faq/sti_other",
}


def content() -> Dict[str, Any]:
    return load("follow_ups.yml")


def named_topic(tracker: Tracker, kind_prefix: str) -> Optional[str]:
    """The topic of the infection the message names ("hva med hiv?" -> faq/sti_hiv)."""
    infection = next(tracker.get_latest_entity_values("infection"), None)
    if infection and kind_prefix == "faq/sti_":
        return INFECTION_TOPICS.get(str(infection).lower())
    return None


def filled(text: str, language: str) -> str:
    """A follow-up text with the service's hours ({hours}) and details filled in."""
    from actions.booking_form import schedule
    from core.dates import describe_week

    values = {**service_details(), "hours": describe_week(schedule().weekly_for(None), language)}
    return text.format_map(values)


def classifier_topic(tracker: Tracker) -> Optional[str]:
    for entry in (tracker.latest_message or {}).get("topic_ranking") or []:
        if entry.get("name") != FOLLOW_UP_INTENT:
            return entry.get("name")
    return None


class ActionInformOutsideForm(Action):
    """An answer-like message when nothing was asked ("kan jeg komme innom kontoret?", "i går
    kveld, uten kondom"): a booking if it names a way to talk, the risk check if it tells of a
    contact, else the message is answered as the topic classifier understood it."""

    def name(self) -> Text:
        return "action_inform_outside_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        from actions.booking_form import choice_in, now_local, schedule
        from actions.contact_time import parse_contact_time, told_as_past
        from actions.risk_check import answer_in_text, now
        from actions.time_wishes import parse_wish

        text = (tracker.latest_message or {}).get("text") or ""
        choice = choice_in(text)
        written = crisis_frame(tracker).get("written")
        if written and ("phone" in choice.ruled_out or choice.wanted == "chat"):
            # "ikke ring" / "ok. chat" right after a crisis answer: the lines one can write to
            language = language_of(tracker)
            dispatcher.utter_message(text=filled(text_in(written, language), language))
            return []
        if choice.wanted:
            return [FollowupAction("booking_form")]  # a way to talk: a booking
        # a time gone by ("i går kveld", "rundt 23 i går") tells of a contact; a time ahead is a booking
        told_contact = parse_contact_time(text, now()).understood or answer_in_text("risk_contact", text, False)
        gone_by = told_contact and told_as_past(text)
        if not gone_by and parse_wish(text, now_local(schedule())).understood:
            return [FollowupAction("booking_form")]
        if told_contact or tracker.get_slot("last_topic") in RISK_TOPICS:
            dispatcher.utter_message(response="utter_risk_check_intro")
            return [FollowupAction("risk_check_form")]
        guess = classifier_topic(tracker)
        return ActionFollowUp.say(
            {"topic": guess} if guess and guess.startswith("faq/") else None, dispatcher, tracker, domain
        )


class ActionTalkToHuman(Action):
    """ "Kan jeg snakke med noen på telefon?" is a booking; "snakke med et menneske" asks the
    gateway for a counsellor in this chat (actions/handoff_request.py)."""

    def name(self) -> Text:
        return "action_talk_to_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        from actions.booking_form import choice_in

        today = crisis_frame(tracker).get("call_today")
        if today:  # right after a crisis answer, the lines that answer today come first
            language = language_of(tracker)
            dispatcher.utter_message(text=filled(text_in(today, language), language))
        if choice_in((tracker.latest_message or {}).get("text") or "").wanted:
            return [FollowupAction("booking_form")]
        ask_for_counsellor(dispatcher, tracker)
        return []


class ActionFollowUp(Action):
    def name(self) -> Text:
        return "action_follow_up"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        kind = (tracker.latest_message or {}).get(FOLLOW_UP_KEY) or ""
        language = language_of(tracker)
        frame = crisis_frame(tracker)
        if frame:
            entry = frame.get(kind) or (
                frame.get("reminder")
                if kind in ("hesitate", "call_today", "dangerous") or not tracker.get_slot("last_topic")
                else None
            )
            if entry and entry.get("response"):
                dispatcher.utter_message(response=entry["response"])
                return []
            if entry:
                dispatcher.utter_message(text=filled(text_in(entry, language), language))
                return []
        if kind == "call_today":
            return [FollowupAction("booking_form")]
        if kind == "illegal_me" and self.was_paid(tracker):
            exploitation = (content().get("after_crisis") or {}).get("crisis_exploitation") or {}
            dispatcher.utter_message(text=filled(text_in(exploitation["illegal_me"], language), language))
            return []
        if kind == "hesitate":
            dispatcher.utter_message(response="utter_no_problem")
            return []
        topic = tracker.get_slot("last_topic")
        in_form = (content().get("in_form_topic") or {}).get((tracker.active_loop or {}).get("name"), {})
        if kind in in_form.get("kinds", []):  # "kor lenge har eg på meg?" in the risk check: PEP's hours
            topic = in_form["topic"]
        answer = self.answer_for(tracker, topic, kind)
        if answer is None:
            guess = classifier_topic(tracker)
            answer = {"topic": guess} if guess and guess.startswith("faq/") else None
        return self.say(answer, dispatcher, tracker, domain)

    @staticmethod
    def was_paid(tracker: Tracker) -> bool:
        from core.phrase_matcher import PhraseMatcher

        matcher = PhraseMatcher({"paid": content().get("seller_words") or []})
        return matcher.best_match((tracker.latest_message or {}).get("text") or "") is not None

    @staticmethod
    def answer_for(tracker: Tracker, topic: Optional[str], kind: str) -> Optional[Dict[str, Any]]:
        found = ((content().get("after_topic") or {}).get(topic) or {}).get(kind)
        found = found or (content().get("default") or {}).get(kind)
        if not found or (not topic and (found.get("same_topic") or found.get("same_kind"))):
            return None
        if found.get("same_topic"):
            return {"topic": topic}
        if found.get("same_kind"):
            prefix = next((p for p in TOPIC_KINDS if topic.startswith(p)), None)
            named = named_topic(tracker, prefix) if prefix else None
            return {"topic": named or topic}
        return found

    @staticmethod
    def say(
        answer: Optional[Dict[str, Any]], dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        if not answer:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        topic = answer.get("topic")
        if topic and has_answer(topic, domain):
            dispatcher.utter_message(response=f"utter_{topic}")
            return [SlotSet("last_topic", topic)]
        if "nb" in answer:
            language = language_of(tracker)
            dispatcher.utter_message(text=filled(text_in(answer, language), language))
            return []
        dispatcher.utter_message(response="utter_ask_rephrase")
        return []
