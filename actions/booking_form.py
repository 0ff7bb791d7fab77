"""The booking conversation: how (in person, phone, chat), when, phone number, confirmation.

Slots are extracted here (custom mappings) so that a question or a crisis in the middle of the
form is not taken as an answer: nothing is extracted, the form rejects, and the rules answer the
question first and then return to the form.
"""
import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Text

import phonenumbers
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import dates
from actions.availability import Schedule
from actions.booking_store import BookingStore, NotFound, SlotTaken
from actions.content import buttons_in, language_of, latest_intent, load, service_details, text_in
from actions.reference_codes import looks_like_code, normalise_code
from actions.time_wishes import parse_wish
from components.text_normalise import normalise, words

# Intents that are never an answer to a form question: they are handled by rules instead.
NOT_ANSWERS = {"faq", "stop", "crisis_suicide", "crisis_assault", "crisis_medical", "crisis_exploitation"}
MAX_OFFERED = 4
OTHER_TIMES = "other_times"
BOOKING_SLOTS = ("booking_channel", "booking_slot", "booking_phone", "booking_confirmed",
                 "booking_wish", "booking_offered")

_store: Optional[BookingStore] = None
_last_erasure: Optional[datetime] = None
ERASE_EVERY = timedelta(hours=1)


def store() -> BookingStore:
    """The booking store; also erases expired phone numbers, at most once an hour."""
    global _store, _last_erasure
    if _store is None:
        _store = BookingStore()
        _store.migrate()
    now = datetime.now(timezone.utc)
    if _last_erasure is None or now - _last_erasure > ERASE_EVERY:
        _last_erasure = now
        _store.erase_expired_phones(now, schedule().phone_retention_days)
    return _store


def schedule() -> Schedule:
    return Schedule.from_config(load("booking.yml"))


def texts() -> Dict[str, Any]:
    return load("booking_texts.yml")


def say(key: str, tracker: Tracker, **values: Any) -> str:
    return text_in(texts()[key], language_of(tracker)).format(**{**service_details(), **values})


def format_time(moment: datetime, language: str, plan: Schedule) -> str:
    return dates.format_time(moment.astimezone(plan.timezone), language)


def now_local(plan: Schedule) -> datetime:
    return datetime.now(timezone.utc).astimezone(plan.timezone)


def is_answer(tracker: Tracker) -> bool:
    return latest_intent(tracker) not in NOT_ANSWERS


def channel_in_text(text: str) -> Optional[str]:
    tokens = words(text)
    normalised = " ".join(tokens)
    for channel, channel_words in texts()["channel_words"].items():
        for word in channel_words:
            if (" " in word and word in normalised) or word in tokens:
                return channel
    return None


def norwegian_phone(text: str) -> Optional[str]:
    """A Norwegian number written by a user, formatted for the counsellor; None if not one."""
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    if not digits:
        return None
    try:
        number = phonenumbers.parse(digits, "NO")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 47 or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def entity(tracker: Tracker, name: str) -> Optional[str]:
    return next(tracker.get_latest_entity_values(name), None)


class KeepingHelperSlots:
    """Mixin for FormValidationAction: rasa-sdk returns only validated *required* slots; this keeps
    helper slots set while extracting. (Not an Action itself, so rasa-sdk does not register it.)"""

    helper_slots = ("booking_wish",)

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        extraction = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extraction)
        validation = await self._extract_validation_events(dispatcher, tracker, domain)
        validated = {event["name"] for event in validation}
        kept = [e for e in extraction if e["name"] in self.helper_slots and e["name"] not in validated]
        return kept + validation


class ValidateBookingForm(KeepingHelperSlots, FormValidationAction):
    def name(self) -> Text:
        return "validate_booking_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: Dict[Text, Any]) -> List[Text]:
        if tracker.slots.get("booking_channel") not in (None, "phone"):
            return [slot for slot in domain_slots if slot != "booking_phone"]
        return domain_slots

    def _asked(self, tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot

    async def extract_booking_channel(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        given = entity(tracker, "booking_channel")
        if given:
            return {"booking_channel": given}
        if not is_answer(tracker):
            return {}
        asked = self._asked(tracker, "booking_channel")
        starting = tracker.get_slot("requested_slot") is None
        if not (asked or starting):
            return {}
        channel = channel_in_text(tracker.latest_message.get("text") or "")
        if channel or asked:
            return {"booking_channel": channel or "unknown"}
        return {}

    def validate_booking_channel(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"booking_channel": value if value in schedule().channels else None}

    async def extract_booking_slot(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        chosen = entity(tracker, "booking_slot")
        if chosen:
            return {"booking_slot": chosen}
        starting = tracker.get_slot("requested_slot") is None
        if not is_answer(tracker) or not (self._asked(tracker, "booking_slot") or starting):
            return {}
        text = tracker.latest_message.get("text") or ""
        plan = schedule()
        if entity(tracker, "booking_wish") == OTHER_TIMES or normalise(text) in ("andre tider", "other times"):
            offered = tracker.get_slot("booking_offered") or []
            after = offered[-1] if offered else now_local(plan).isoformat()
            return {"booking_wish": f"after|{after}", "booking_slot": None}
        wish = parse_wish(text, now_local(plan))
        if wish.understood:
            end = wish.end.isoformat() if wish.end else ""
            return {"booking_wish": f"{wish.start.isoformat()}|{end}", "booking_slot": None}
        if starting:
            return {}
        return {"booking_wish": "unclear", "booking_slot": None}

    def validate_booking_slot(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        plan = schedule()
        try:
            chosen = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return {"booking_slot": None}
        free = store().free_slots(plan, now_local(plan), limit=1, wish_start=chosen,
                                  wish_end=chosen + plan.slot_length)
        if not plan.is_slot(chosen) or not free:
            dispatcher.utter_message(text=say("slot_gone", tracker))
            return {"booking_slot": None}
        return {"booking_slot": chosen.isoformat()}

    async def extract_booking_phone(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if not is_answer(tracker) or not self._asked(tracker, "booking_phone"):
            return {}
        return {"booking_phone": tracker.latest_message.get("text") or ""}

    def validate_booking_phone(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        number = norwegian_phone(value or "")
        if number is None:
            dispatcher.utter_message(text=say("phone_invalid", tracker))
        return {"booking_phone": number}

    async def extract_booking_confirmed(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if not is_answer(tracker) or not self._asked(tracker, "booking_confirmed"):
            return {}
        intent = latest_intent(tracker)
        if intent == "affirm":
            return {"booking_confirmed": True}
        # Anything else than yes: choose again (the form asks for channel and time anew).
        dispatcher.utter_message(text=say("changed_mind", tracker))
        return {"booking_confirmed": None, "booking_channel": None, "booking_slot": None,
                "booking_phone": None, "booking_wish": None}

    def validate_booking_confirmed(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"booking_confirmed": value}


class ActionAskBookingChannel(Action):
    def name(self) -> Text:
        return "action_ask_booking_channel"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        language = language_of(tracker)
        names = texts()["channel_names"]
        buttons = [{"title": text_in(names[c], language), "payload": f'/inform{{"booking_channel": "{c}"}}'}
                   for c in schedule().channels]
        dispatcher.utter_message(text=say("ask_channel", tracker), buttons=buttons)
        return []


def wish_window(wish: Optional[str], plan: Schedule):
    """(start, end) from the booking_wish slot; (None, None) when there is no usable wish."""
    if not wish or wish == "unclear":
        return None, None
    first, _, second = wish.partition("|")
    if first == "after":
        return datetime.fromisoformat(second) + plan.slot_length / 2, None
    return datetime.fromisoformat(first), (datetime.fromisoformat(second) if second else None)


def describe_wish(start: datetime, end: Optional[datetime], language: str, plan: Schedule) -> str:
    if end is None:
        return ("after " if language == "en" else "etter ") + format_time(start, language, plan)
    return ("between {} and {}" if language == "en" else "mellom {} og {}").format(
        format_time(start, language, plan), format_time(end, language, plan))


class ActionAskBookingSlot(Action):
    """Offers the nearest free slots that fit the user's wish, as buttons."""

    def name(self) -> Text:
        return "action_ask_booking_slot"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        plan = schedule()
        language = language_of(tracker)
        now = now_local(plan)
        wish = tracker.get_slot("booking_wish")
        start, end = wish_window(wish, plan)
        offered = store().free_slots(plan, now, MAX_OFFERED, start, end) if start else []
        if wish == "unclear":
            intro = say("wish_not_understood", tracker)
        elif start and not offered:
            intro = say("no_slot_in_wish", tracker, wish=describe_wish(start, end, language, plan))
        else:
            intro = say("ask_slot", tracker)
        if not offered:
            offered = store().free_slots(plan, now, MAX_OFFERED, start if start and not end else None)
        if not offered:
            dispatcher.utter_message(text=say("no_slots_at_all", tracker))
            return [SlotSet("booking_offered", [])]
        buttons = [{"title": format_time(slot, language, plan),
                    "payload": f'/inform{{"booking_slot": "{slot.isoformat()}"}}'} for slot in offered]
        buttons.append({"title": text_in(texts()["other_times"], language),
                        "payload": f'/inform{{"booking_wish": "{OTHER_TIMES}"}}'})
        dispatcher.utter_message(text=intro, buttons=buttons)
        return [SlotSet("booking_offered", [slot.isoformat() for slot in offered])]


class ActionAskBookingPhone(Action):
    def name(self) -> Text:
        return "action_ask_booking_phone"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        dispatcher.utter_message(text=say("ask_phone", tracker))
        # Tells the gateway that the next message may hold a phone number it should not mask.
        dispatcher.utter_message(json_message={"expects": "phone"})
        return []


def summary(tracker: Tracker, plan: Schedule) -> str:
    language = language_of(tracker)
    channel = tracker.get_slot("booking_channel")
    lines = [say("summary_time", tracker, time=format_time(datetime.fromisoformat(tracker.get_slot("booking_slot")),
                                                             language, plan)),
             say("summary_channel", tracker, channel=text_in(texts()["channel_names"][channel], language))]
    if channel == "phone":
        lines.append(say("summary_phone", tracker, phone=tracker.get_slot("booking_phone")))
    return "\n".join(lines)


class ActionAskBookingConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_booking_confirmed"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        language = language_of(tracker)
        buttons = buttons_in(texts()["confirm_buttons"], language)
        dispatcher.utter_message(text=say("ask_confirm", tracker, summary=summary(tracker, schedule())),
                                 buttons=buttons)
        return []


def request_key(tracker: Tracker) -> Optional[str]:
    """Names this conversation turn (the gateway sends the same turn id with every try of a
    message), so a turn retried after a fault finds the booking it already made."""
    turn = ((tracker.latest_message or {}).get("metadata") or {}).get("turn")
    if not turn:
        return None
    return hashlib.sha256(f"{tracker.sender_id}\n{turn}".encode()).hexdigest()


def clear_booking_slots() -> List[EventType]:
    return [SlotSet(slot, None) for slot in BOOKING_SLOTS]


class ActionSubmitBooking(Action):
    """Books (or moves) the confirmed slot; if it was taken a moment ago, offers the next ones."""

    def name(self) -> Text:
        return "action_submit_booking"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        plan = schedule()
        language = language_of(tracker)
        slot = datetime.fromisoformat(tracker.get_slot("booking_slot"))
        channel = tracker.get_slot("booking_channel")
        moving = tracker.get_slot("booking_reference") if tracker.get_slot("booking_moving") else None
        try:
            if moving:
                booking = store().move(moving, slot, plan.counsellors_per_slot)
            else:
                booking = store().book(slot, channel, plan.counsellors_per_slot, sender_id=tracker.sender_id,
                                       phone=tracker.get_slot("booking_phone") if channel == "phone" else None,
                                       request_key=request_key(tracker))
        except SlotTaken:
            dispatcher.utter_message(text=say("slot_taken_at_confirm", tracker))
            return [SlotSet("booking_slot", None), SlotSet("booking_confirmed", None),
                    SlotSet("booking_wish", f"after|{slot.isoformat()}"), FollowupAction("booking_form")]
        when = format_time(booking.slot_start, language, plan)
        if moving:
            dispatcher.utter_message(text=say("moved", tracker, time=when, reference=booking.reference))
        else:
            dispatcher.utter_message(text=say("booked", tracker, reference=booking.reference))
            dispatcher.utter_message(text=text_in(texts()["next_steps"][channel], language).format(
                **service_details(), time=when))
        return clear_booking_slots() + [SlotSet("booking_reference", booking.reference),
                                        SlotSet("booking_moving", None)]


class ActionBookingStopped(Action):
    def name(self) -> Text:
        return "action_booking_stopped"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        dispatcher.utter_message(text=say("stopped", tracker))
        return clear_booking_slots() + [SlotSet("booking_moving", None), SlotSet("requested_slot", None)]


# --- cancel or move a booking by its reference ------------------------------------------------
def code_in_text(text: str) -> Optional[str]:
    """A reference code anywhere in the message ("ACD-479", "acd 479", "acd479")."""
    tokens = (text or "").replace("-", " ").split()
    candidates = tokens + [a + b for a, b in zip(tokens, tokens[1:])]
    return next((normalise_code(c) for c in candidates if looks_like_code(c)), None)


def active_booking(reference: str):
    try:
        booking = store().find(reference)
    except NotFound:
        return None
    return booking if booking.status == "booked" else None


class ValidateManageBookingForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_manage_booking_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[Text]:
        if tracker.slots.get("manage_action") == "move":
            return ["manage_action", "booking_reference"]
        return domain_slots

    async def extract_manage_action(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        intent = latest_intent(tracker)
        if intent in ("cancel_booking", "move_booking") and tracker.get_slot("requested_slot") is None:
            return {"manage_action": "cancel" if intent == "cancel_booking" else "move"}
        return {}

    async def extract_booking_reference(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        asked = tracker.get_slot("requested_slot") == "booking_reference"
        starting = tracker.get_slot("requested_slot") is None
        if not is_answer(tracker) or not (asked or starting):
            return {}
        code = code_in_text(tracker.latest_message.get("text") or "")
        if code or asked:
            return {"booking_reference": code or "unknown"}
        return {}

    def validate_booking_reference(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if value == "unknown" or active_booking(value) is None:
            dispatcher.utter_message(text=say("reference_unknown", tracker))
            return {"booking_reference": None}
        return {"booking_reference": value}

    async def extract_manage_confirmed(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if not is_answer(tracker) or tracker.get_slot("requested_slot") != "manage_confirmed":
            return {}
        return {"manage_confirmed": latest_intent(tracker) == "affirm"}


class ActionAskBookingReference(Action):
    def name(self) -> Text:
        return "action_ask_booking_reference"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        dispatcher.utter_message(text=say("ask_reference", tracker))
        return []


class ActionAskManageConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_manage_confirmed"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        plan, language = schedule(), language_of(tracker)
        booking = active_booking(tracker.get_slot("booking_reference"))
        buttons = buttons_in(texts()["cancel_buttons"], language)
        dispatcher.utter_message(
            text=say("ask_cancel_confirm", tracker, time=format_time(booking.slot_start, language, plan),
                     channel=text_in(texts()["channel_names"][booking.channel], language)),
            buttons=buttons)
        return []


class ActionSubmitManageBooking(Action):
    """Cancels the booking, or starts choosing a new time for it."""

    def name(self) -> Text:
        return "action_submit_manage_booking"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        plan, language = schedule(), language_of(tracker)
        reference = tracker.get_slot("booking_reference")
        booking = active_booking(reference)
        reset = [SlotSet("manage_action", None), SlotSet("manage_confirmed", None)]
        if booking is None:
            dispatcher.utter_message(text=say("reference_unknown", tracker))
            return reset
        if tracker.get_slot("manage_action") == "move":
            return reset + [SlotSet("booking_moving", True), SlotSet("booking_channel", booking.channel),
                            SlotSet("booking_phone", booking.phone or "-"), SlotSet("booking_slot", None),
                            SlotSet("booking_confirmed", None), FollowupAction("booking_form")]
        if tracker.get_slot("manage_confirmed"):
            store().cancel(reference)
            dispatcher.utter_message(text=say("cancelled", tracker,
                                              time=format_time(booking.slot_start, language, plan)))
        else:
            dispatcher.utter_message(text=say("kept", tracker))
        return reset
