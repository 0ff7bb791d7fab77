"""What the forms hear in the middle (data/form_rules.yml; actions/form_reading.py decides).

- `action_reply_in_form`: a question or small talk is answered; the form then asks again.
- `action_form_paused`: after a crisis the form waits (slot `paused_form`) until the user says
  they want to go on; the slots filled so far are kept.
- `action_form_left`: goodbye or stop ends the form; after goodbye the slots are kept, so a later
  "jeg vil bestille" goes on where the user left off.
"""

from typing import Any, Dict, Iterator, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import answered_topic, has_answer
from actions.booking_form import BOOKING_SLOTS, MANAGE_SLOTS
from actions.crisis_context import crisis_reminder
from actions.follow_ups import ActionFollowUp
from actions.form_reading import MISSES_KEY
from actions.handoff_request import ask_for_counsellor
from actions.languages import ActionLanguageChanged
from actions.risk_check import RISK_SLOTS
from actions.risk_check import say as risk_say
from core.content import buttons_in, language_of, latest_intent, load, text_in
from core.intents import FOLLOW_UP_INTENT

REPLIES = {  # intent -> the response that answers it inside a form
    "out_of_scope": "utter_out_of_scope",
    "bot_challenge": "utter_bot_challenge",
}


# A conversation about a crisis never ends without its numbers (design rule in the domain facts),
# so closing words look further back than other answers do.
CLOSING_REACH = 12


def texts() -> Dict[str, Any]:
    return load("forms.yml")


def form_before(tracker: Tracker) -> Optional[str]:
    """The form that was active before this turn deactivated it."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name"):
            return event["name"]
    return None


def form_name(form: Optional[str], tracker: Tracker) -> str:
    names = texts()["form_names"]
    return text_in(names.get(form) or names["booking_form"], language_of(tracker))


class ActionReplyInForm(Action):
    def name(self) -> Text:
        return "action_reply_in_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        intent = latest_intent(tracker)
        if intent == FOLLOW_UP_INTENT:
            return [e for e in await ActionFollowUp().run(dispatcher, tracker, domain) if e.get("event") != "followup"]
        if intent == "faq":
            topic = answered_topic(tracker)
            if has_answer(topic, domain):
                dispatcher.utter_message(response=f"utter_{topic}")
                return [SlotSet("last_topic", topic)]
            return []
        if intent == "change_language":
            return await ActionLanguageChanged().run(dispatcher, tracker, domain)
        if intent == "talk_to_human":
            ask_for_counsellor(dispatcher, tracker)
        elif intent == "thanks":
            dispatcher.utter_message(text=text_in(texts()["thanks"], language_of(tracker)))
            reminder = crisis_reminder(tracker)
            if reminder:
                dispatcher.utter_message(text=reminder)
        elif intent in REPLIES:
            dispatcher.utter_message(response=REPLIES[intent])
        return []


class ActionFormPaused(Action):
    def name(self) -> Text:
        return "action_form_paused"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        form = form_before(tracker)
        language = language_of(tracker)
        dispatcher.utter_message(
            text=text_in(texts()["paused"], language).format(form=form_name(form, tracker)),
            buttons=buttons_in(texts()["paused_buttons"], language),
        )
        return [SlotSet("paused_form", form), SlotSet("requested_slot", None), SlotSet(MISSES_KEY, None)]


class ActionFormLeft(Action):
    def name(self) -> Text:
        return "action_form_left"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        form = form_before(tracker)
        language = language_of(tracker)
        reset = [SlotSet("requested_slot", None), SlotSet(MISSES_KEY, None), SlotSet("paused_form", None)]
        if latest_intent(tracker) == "goodbye":
            dispatcher.utter_message(
                text=text_in(texts()["left_for_now"], language).format(form=form_name(form, tracker))
            )
            dispatcher.utter_message(response="utter_goodbye")
            reminder = crisis_reminder(tracker, within=CLOSING_REACH)
            if reminder:
                dispatcher.utter_message(text=reminder)
            return reset
        if form == "risk_check_form":
            dispatcher.utter_message(text=risk_say("stopped", language))
            return reset + [SlotSet(slot, None) for slot in RISK_SLOTS]
        dispatcher.utter_message(text=text_in(load("booking_texts.yml")["stopped"], language))
        return reset + [SlotSet(slot, None) for slot in BOOKING_SLOTS + MANAGE_SLOTS]


class ActionBookingInstead(Action):
    """Leaves cancel/move for a new booking ("da bestiller jeg heller en ny på telefon")."""

    def name(self) -> Text:
        return "action_booking_instead"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return [SlotSet(slot, None) for slot in ("requested_slot", MISSES_KEY, "booking_reference") + MANAGE_SLOTS]


class ActionYesOutOfContext(Action):
    """ "ja"/"ok" when nothing was asked: the booking just made, said again; the numbers again
    shortly after a crisis; otherwise what the bot can help with."""

    def name(self) -> Text:
        return "action_yes_out_of_context"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        language = language_of(tracker)
        reference = tracker.get_slot("booking_reference")
        if reference and just_booked(tracker):
            dispatcher.utter_message(text=text_in(texts()["already_booked"], language).format(reference=reference))
            return []
        reminder = crisis_reminder(tracker)
        if reminder:
            dispatcher.utter_message(text=reminder)
        paused, offered = tracker.get_slot("paused_form"), offer_just_made(tracker)
        if offered == "risk_check_form" and paused != offered:  # a new check is introduced; a paused one goes on
            dispatcher.utter_message(response="utter_risk_check_intro")
        form = offered or paused  # "ja": take the offer, or go on with the paused form
        if form:
            return [SlotSet("paused_form", None), FollowupAction(form)]
        if reminder:
            dispatcher.utter_message(response="utter_offer_counsellor")
        else:
            dispatcher.utter_message(response="utter_how_can_i_help")
        return []


class ActionSmallTalk(Action):
    """Hello, thanks and goodbye: the usual words, and shortly after a crisis its numbers once
    more ("takk, jeg skal ikke gjøre noe dumt", "ha det"); a "hei?" or "hæ?" read as a greeting
    right after a crisis answer gets the numbers again in place of the introduction."""

    def name(self) -> Text:
        return "action_small_talk"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        intent = latest_intent(tracker)
        reminder = crisis_reminder(tracker, within=CLOSING_REACH)
        if intent == "greet":
            if reminder:
                dispatcher.utter_message(text=reminder)
            else:
                dispatcher.utter_message(response="utter_greet")
            return []
        if intent == "goodbye":
            dispatcher.utter_message(response="utter_goodbye")
        else:
            dispatcher.utter_message(response="utter_thanks")
        if reminder:
            dispatcher.utter_message(text=reminder)
        return []


# "ja" to a button the bot just showed takes that button: its intent and what the intent starts.
ACCEPTED_OFFERS = {"/risk_check": "risk_check_form", "/book_counsellor": "booking_form"}


def offer_just_made(tracker: Tracker) -> Optional[str]:
    """The form that the bot's last message offered with a button, if any."""
    for event in bot_turn_before(tracker):
        if event.get("event") == "bot":
            payloads = [b.get("payload") for b in (event.get("data") or {}).get("buttons") or []]
            offered = [ACCEPTED_OFFERS[p] for p in payloads if p in ACCEPTED_OFFERS]
            if offered:
                return offered[0]
    return None


def bot_turn_before(tracker: Tracker) -> Iterator[Dict[str, Any]]:
    """The events of the bot's turn before this message, latest first."""
    users_seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users_seen += 1  # the first is this message; the one before it ends the bot's turn
            if users_seen == 2:
                return
        elif users_seen:
            yield event


class ActionNoThanks(Action):
    """ "nei"/"nei takk": fine – and shortly after a crisis, the numbers stay in sight."""

    def name(self) -> Text:
        return "action_no_thanks"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_no_problem")
        reminder = crisis_reminder(tracker)
        if reminder:
            dispatcher.utter_message(text=reminder)
        return []


def just_booked(tracker: Tracker) -> bool:
    """True when the bot's turn before this message made a booking."""
    return any(
        event.get("event") == "action" and event.get("name") == "action_submit_booking"
        for event in bot_turn_before(tracker)
    )
