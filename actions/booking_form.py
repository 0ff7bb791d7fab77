"""The booking conversation: how (in person, phone, chat), when, phone number, confirmation.

Slots are extracted here (custom mappings) so that a question or a crisis in the middle of the
form is not taken as an answer: nothing is extracted, the form rejects, and the rules answer the
question first and then return to the form.
"""

import hashlib
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import clock, limits
from actions.channel_choice import ChannelChoice, channel_choice
from actions.crisis_context import crisis_reminder
from actions.form_reading import (
    MISSES_KEY,
    heard_first,
    may_carry_answer,
    missed,
    misses,
    must_not_be_read,
    needs_way_out,
    no_miss,
    ordinal_choice,
    payload_entities,
    without_ordinals,
)
from actions.time_wishes import NEAR_AFTER, NEAR_BEFORE, named_moment, nearest_to, parse_wish, ruled_out_days
from core import dates
from core.availability import Schedule
from core.booking_pins import new_pin, pin_hash, pin_in_text, pin_matches
from core.booking_store import BookingStore, NotFound, SlotTaken
from core.content import buttons_in, language_of, latest_intent, load, service_details, text_in
from core.dates import describe_week
from core.phone_numbers import handle_in, handle_text, masked_phone, norwegian_phone
from core.phrase_matcher import PhraseMatcher
from core.protocol import CLIENT, EXPECTS_PHONE, TURN
from core.reference_codes import codes_in_text, looks_like_code, normalise_code
from core.settings import load_settings, phone_retention_days
from core.text_normalise import normalise

MAX_OFFERED = 4
OTHER_TIMES = "other_times"
BOOKING_SLOTS = (
    "booking_channel",
    "booking_slot",
    "booking_phone",
    "booking_confirmed",
    "booking_wish",
    "booking_offered",
    "booking_not_channels",
    "booking_not_days",
    MISSES_KEY,
)
# What cancelling or moving a booking keeps while it runs; cleared when it ends either way.
MANAGE_SLOTS = ("booking_moving", "manage_action", "manage_confirmed", "booking_pin")
VERIFIED = "verified"  # booking_pin once the reference and PIN matched

_store: Optional[BookingStore] = None


def store() -> BookingStore:
    """The booking store, at the settings' bookings_url. (Expired phone numbers are erased by the
    gateway's retention job, bot/retention.py, by the periods of the settings' Retention.)"""
    global _store
    if _store is None:
        _store = BookingStore(load_settings().bookings_url)
        _store.migrate()
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
    return clock.now().astimezone(plan.timezone)


def is_answer(tracker: Tracker) -> bool:
    return not heard_first(tracker)


def phone_of(slot_value: Optional[str], tracker: Tracker) -> Optional[str]:
    """The number behind the booking_phone slot: a handle the gateway put in place of the typed
    number (core/phone_numbers.py), or, from a client that sent the number itself, the number."""
    handle = handle_in(slot_value)
    return store().phone_for(handle, tracker.sender_id) if handle else slot_value


def client_of(tracker: Tracker) -> str:
    """Who is booking, for the limits: the gateway's pseudonym of the address (or chat)."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return str(metadata.get(CLIENT) or tracker.sender_id)[:64]


def upcoming_bookings_of(tracker: Tracker):
    now = clock.now()
    return [b for b in store().bookings_of_sender(tracker.sender_id) if b.slot_start >= now]


def booking_refusal(tracker: Tracker) -> Optional[str]:
    """Why no new booking can be made here, or None: one active booking per conversation
    (BOOKINGS_PER_SESSION) and a few new ones per address a day, so that nobody can take every time."""
    plan, language = schedule(), language_of(tracker)
    upcoming = upcoming_bookings_of(tracker)
    if len(upcoming) >= limits.BOOKINGS_PER_SESSION:
        first = upcoming[0]
        return say(
            "one_booking_already",
            tracker,
            time=format_time(first.slot_start, language, plan),
            channel=text_in(texts()["channel_names"][first.channel], language),
        )
    made_today = store().recent_bookings_of_client(client_of(tracker), clock.now() - timedelta(days=1))
    if made_today >= limits.BOOKINGS_PER_CLIENT_PER_DAY:
        return say("too_many_bookings", tracker, hours=hours_of("phone", tracker))
    return None


def entity(tracker: Tracker, name: str) -> Optional[str]:
    return next(tracker.get_latest_entity_values(name), None)


class KeepingHelperSlots:
    """Mixin for FormValidationAction: rasa-sdk returns only validated *required* slots; this keeps
    helper slots set while extracting. (Not an Action itself, so rasa-sdk does not register it.)"""

    helper_slots = ("booking_wish", "booking_not_channels", "booking_not_days", MISSES_KEY)

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        extraction = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extraction)
        validation = await self._extract_validation_events(dispatcher, tracker, domain)
        validated = {event["name"] for event in validation}
        kept = [e for e in extraction if e["name"] in self.helper_slots and e["name"] not in validated]
        return kept + validation


def practical_answer(text: str, tracker: Tracker) -> Optional[str]:
    """The answer to a practical question about the call ("kan dere ringe fra skjult nummer?")."""
    questions = texts().get("practical_questions") or {}
    matcher = PhraseMatcher({key: entry["words"] for key, entry in questions.items()})
    found = matcher.best_match(text)
    return say_entry(questions[found.label], tracker) if found else None


def say_entry(entry: Dict[str, str], tracker: Tracker, **values: Any) -> str:
    return text_in(entry, language_of(tracker)).format(**{**service_details(), **values})


def choice_in(text: str) -> ChannelChoice:
    content = texts()
    return channel_choice(
        text, content["channel_words"], content.get("negation_words") or [], content.get("refusal_words") or []
    )


def changes_channel(text: str) -> bool:
    """ "heller chat", "kan vi ta det på telefon i stedet?": words that ask for another way to talk."""
    return says_any("change_words", text)


def asks_for_another_way(tracker: Tracker) -> bool:
    """ "kan vi gøre det på chat i stedet?" in the booking: a change of channel, even when it reads as
    asking for a person (the person is what is being booked)."""
    text = (tracker.latest_message or {}).get("text") or ""
    return latest_intent(tracker) == "talk_to_human" and changes_channel(text) and choice_in(text).said_anything


def channel_in_text(text: str) -> Optional[str]:
    return choice_in(text).wanted


def says_any(words_key: str, text: str, max_gap: int = 1) -> bool:
    """The text says one of the phrases listed under `words_key` in content/booking_texts.yml."""
    return PhraseMatcher({words_key: texts().get(words_key) or []}, max_gap=max_gap).best_match(text) is not None


def accepts(text: str) -> bool:
    """ "den passer", "ta den", "greit" said to a proposed time."""
    return says_any("accept_words", text)


def answer_the_question(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> None:
    """The FAQ answer to a question asked together with an answer to the form."""
    selector = ((tracker.latest_message or {}).get("response_selector") or {}).get("faq") or {}
    topic = (selector.get("response") or {}).get("intent_response_key")
    if latest_intent(tracker) == "faq" and topic and f"utter_{topic}" in (domain.get("responses") or {}):
        dispatcher.utter_message(response=f"utter_{topic}")


def offered_slots(tracker: Tracker) -> List[str]:
    return list(tracker.get_slot("booking_offered") or [])


class ValidateBookingForm(KeepingHelperSlots, FormValidationAction):
    """Reads every message for all the booking's slots at once (actions/form_reading.py):
    a global intent first (answered by the rules), then the slot asked, then any other."""

    def name(self) -> Text:
        return "validate_booking_form"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        starting = tracker.get_slot("requested_slot") is None and not tracker.get_slot("booking_moving")
        refusal = booking_refusal(tracker) if starting else None
        if refusal:  # said before any question, and the form ends at once
            dispatcher.utter_message(text=refusal)
            return clear_booking_slots() + [SlotSet("requested_slot", None), ActiveLoop(None)]
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Text]:
        if tracker.slots.get("booking_channel") not in (None, "phone") or tracker.slots.get("booking_moving"):
            return [slot for slot in domain_slots if slot != "booking_phone"]  # a move keeps the booking's number
        return domain_slots

    async def get_extraction_events(self, dispatcher, tracker, domain) -> List[EventType]:
        carrying = heard_first(tracker) and (may_carry_answer(tracker) or asks_for_another_way(tracker))
        # the message that started the form ("snakke med noen på chat", a talk_to_human that named a
        # channel) is read for the form, whatever its intent
        starting = tracker.get_slot("requested_slot") is None
        if heard_first(tracker) and not carrying and not starting:
            return []
        values = self.read(CollectingDispatcher() if carrying else dispatcher, tracker)
        if carrying:
            if not any(key != MISSES_KEY for key in values):
                return []  # a question or small talk and nothing else: the rules answer it
            answer_the_question(dispatcher, tracker, domain)
            values = self.read(dispatcher, tracker)
        return [SlotSet(slot, value) for slot, value in values.items()]

    def read(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        text = (tracker.latest_message or {}).get("text") or ""
        given = payload_entities(tracker)
        asked = tracker.get_slot("requested_slot")
        intent = latest_intent(tracker)
        values: Dict[Text, Any] = {}
        answer = practical_answer(text, tracker) if not given else None
        if answer:
            dispatcher.utter_message(text=answer)
        values.update(self._channel(text, given, tracker, dispatcher))
        values.update(self._time(text, given, tracker, asked, intent, values, dispatcher))
        values.update(self._phone(text, tracker, asked, values) if not given else {})  # a payload's digits are a time
        values.update(self._confirmation(tracker, asked, intent, values, dispatcher))
        if values or answer:
            values.update(no_miss())
        elif asked:
            values.update(missed(tracker))
        return values

    def _channel(self, text, given, tracker, dispatcher) -> Dict[Text, Any]:
        current = tracker.get_slot("booking_channel")
        if given.get("booking_channel"):
            return {"booking_channel": given["booking_channel"]}
        choice = choice_in(text)
        if current and latest_intent(tracker) == "faq" and not changes_channel(text):
            return {}  # "vil det stå at eg har ringt dykk?" asks about the chosen way, it does not change it
        ruled_out = set(tracker.get_slot("booking_not_channels") or []) | choice.ruled_out
        values: Dict[Text, Any] = {}
        if choice.ruled_out:
            values["booking_not_channels"] = sorted(ruled_out)
        if choice.wanted and choice.wanted != current:
            values["booking_channel"] = choice.wanted
            if current:  # a change of mind: the time stays if the new channel has it
                dispatcher.utter_message(
                    text=say("channel_changed", tracker, channel=channel_name(choice.wanted, tracker))
                )
                slot = tracker.get_slot("booking_slot")
                if slot and not schedule().is_slot(datetime.fromisoformat(slot), choice.wanted):
                    values["booking_slot"] = None
                values["booking_confirmed"] = None
        elif current in choice.ruled_out:
            values["booking_channel"] = None
            values["booking_confirmed"] = None
        return values

    def _time(self, text, given, tracker, asked, intent, values, dispatcher) -> Dict[Text, Any]:
        if given.get("booking_slot"):
            return {"booking_slot": given["booking_slot"]}
        plan = schedule()
        offered = offered_slots(tracker)
        if given.get("booking_wish") == OTHER_TIMES or normalise(text) in ("andre tider", "other times"):
            after = offered[-1] if offered else now_local(plan).isoformat()
            return {"booking_wish": f"after|{after}", "booking_slot": None}
        wish = parse_wish(text, now_local(plan))
        if wish.understood and ordinal_choice(text, ["x"]):
            # "den første på torsdag": the first free time on Thursday, offered or not
            channel = values.get("booking_channel") or tracker.get_slot("booking_channel")
            free = [
                slot.isoformat()
                for slot in store().free_slots(plan, now_local(plan), MAX_OFFERED, wish.start, wish.end, channel)
            ]
            chosen = ordinal_choice(text, free) if free else None
            if chosen:
                return {"booking_slot": chosen}
        if asked == "booking_slot" and offered:
            # "andre tid. nr 2": a position in the list, unless a day or time is named besides it
            named_time = parse_wish(without_ordinals(text), now_local(plan)).understood
            chosen = ordinal_choice(text, offered) if not named_time else None
            if chosen:
                return {"booking_slot": chosen}
            if (intent == "affirm" or accepts(text)) and not wish.understood:  # "ja det passer" to the first time
                channel = values.get("booking_channel") or tracker.get_slot("booking_channel")
                accepted = {"booking_slot": offered[0]}
                if channel and channel != "phone":
                    accepted["booking_confirmed"] = True
                return accepted
            if intent == "deny" and not wish.understood:  # "nei" alone; "nei, kl 12 da" names a time
                return {"booking_wish": f"after|{offered[0]}", "booking_slot": None}
        if wish.understood and (intent != "affirm" or wish.at):  # "ja, torsdag 11.30" names a time
            end = wish.end.isoformat() if wish.end else ""
            chosen = self._named_time(wish, tracker, values, dispatcher)
            if intent == "affirm" and chosen and chosen == tracker.get_slot("booking_slot"):
                return {}  # "ja, kl 12 passer" to the time already shown: a yes
            wished = f"{wish.start.isoformat()}|{end}"
            return {"booking_wish": wished, "booking_slot": chosen, "booking_confirmed": None}
        excluded = ruled_out_days(text)
        if excluded:  # "ikke torsdag": other days, not a miss
            days = sorted(set(tracker.get_slot("booking_not_days") or []) | {str(d) for d in excluded})
            return {"booking_not_days": days, "booking_slot": None, "booking_confirmed": None}
        return {}

    def _named_time(self, wish, tracker, values, dispatcher) -> Optional[str]:
        """A named clock time is a choice: the free slot nearest to it, once the channel is known
        (the confirmation shows the time, so "nei" can still change it). When nothing is free
        near it, the nearest free time that day is proposed instead, with the channel's hours, as a
        person at the desk would ("kl 10 er ikke ledig, men …")."""
        channel = values.get("booking_channel") or tracker.get_slot("booking_channel")
        moment = named_moment(wish)
        if moment is None or not channel:
            return None
        plan = schedule()
        now = now_local(plan)
        near = free_on_allowed_days(tracker, plan, now, moment - NEAR_BEFORE, moment + NEAR_AFTER, channel)
        chosen = nearest_to(moment, near)
        if chosen:
            return chosen.isoformat()
        # not when the wish named a part of the day ("in the evening after 18:00"): outside it is no choice
        chosen = None if wish.part_named else nearest_instead(tracker, plan, now, moment, channel)
        if chosen:
            language = language_of(tracker)
            dispatcher.utter_message(
                text=channel_hours_line(channel, tracker)
                + " "
                + say(
                    "named_time_taken",
                    tracker,
                    asked=format_time(moment, language, plan),
                    instead=format_time(chosen, language, plan),
                )
            )
        return chosen.isoformat() if chosen else None

    def _phone(self, text, tracker, asked, values) -> Dict[Text, Any]:
        channel = values.get("booking_channel") or tracker.get_slot("booking_channel")
        if channel != "phone" and asked != "booking_phone":
            return {}
        if handle_in(text):  # the gateway kept the number and sent its handle
            return {"booking_phone": handle_text(handle_in(text))}
        digits = sum(ch.isdigit() for ch in text)
        if digits >= 8 or (asked == "booking_phone" and digits):
            return {"booking_phone": text}
        return {}

    def _confirmation(self, tracker, asked, intent, values, dispatcher) -> Dict[Text, Any]:
        if asked != "booking_confirmed" or "booking_confirmed" in values:
            return {}
        if intent == "affirm":
            return {"booking_confirmed": True}
        changed = {k for k in values if k in ("booking_channel", "booking_slot", "booking_wish")}
        if intent == "deny" and not changed:
            dispatcher.utter_message(text=say("ask_what_to_change", tracker))
            return {"booking_confirmed": None, "booking_slot": None, MISSES_KEY: None}
        return {}

    def validate_booking_channel(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"booking_channel": value if value in schedule().channels else None}

    def validate_booking_slot(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        plan = schedule()
        try:
            chosen = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return {"booking_slot": None}
        if chosen.tzinfo is None:  # never written by the bot's buttons
            return {"booking_slot": None}
        channel = tracker.get_slot("booking_channel")
        free = store().free_slots(
            plan, now_local(plan), limit=1, wish_start=chosen, wish_end=chosen + plan.slot_length, channel=channel
        )
        if not plan.is_slot(chosen, channel) or not free:
            dispatcher.utter_message(text=say("slot_gone", tracker))
            return {"booking_slot": None, "booking_confirmed": None}
        return {"booking_slot": chosen.isoformat()}

    def validate_booking_phone(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if handle_in(value):  # the number stays out of the tracker: the slot keeps the handle
            kept = phone_of(value, tracker) is not None
            if not kept:
                dispatcher.utter_message(text=say("phone_invalid", tracker))
            return {"booking_phone": value if kept else None}
        number = norwegian_phone(value or "")
        if number is None:
            dispatcher.utter_message(text=say("phone_invalid", tracker))
        return {"booking_phone": number}

    def validate_booking_confirmed(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        return {"booking_confirmed": value}


def channel_name(channel: str, tracker: Tracker) -> str:
    return text_in(texts()["channel_names"][channel], language_of(tracker))


def hours_of(channel: Optional[str], tracker: Tracker) -> str:
    return describe_week(schedule().weekly_for(channel), language_of(tracker))


def channel_hours_line(channel: str, tracker: Tracker) -> str:
    """ "Telefonsamtale har vi mandag–onsdag kl. 09–12 …": told when a wish is not met or not understood."""
    return say(
        "channel_hours", tracker, channel=channel_name(channel, tracker).capitalize(), hours=hours_of(channel, tracker)
    )


def free_on_allowed_days(tracker: Tracker, plan: Schedule, now: datetime, first, last, channel) -> List[datetime]:
    """The nearest free slots in [first, last) for the channel, on days the user has not ruled out."""
    not_days = {int(d) for d in tracker.get_slot("booking_not_days") or []}
    found = store().free_slots(plan, now, MAX_OFFERED * 6, first, last, channel)
    return [slot for slot in found if slot.weekday() not in not_days][:MAX_OFFERED]


def nearest_instead(tracker: Tracker, plan: Schedule, now: datetime, moment: datetime, channel) -> Optional[datetime]:
    """For a named time with nothing free near it: the nearest free time on that day (another day
    is the user's choice: they are told the hours and asked again)."""
    day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    same_day = free_on_allowed_days(tracker, plan, now, day_start, day_start + timedelta(days=1), channel)
    return min(same_day, key=lambda slot: abs(slot - moment)) if same_day else None


def closed_for_wish(tracker: Tracker) -> Optional[str]:
    """The service's hours, when the time the user asked for has no free time in any channel."""
    plan = schedule()
    start, end = wish_window(tracker.get_slot("booking_wish"), plan)
    if start is None or store().free_slots(plan, now_local(plan), 1, start, end):
        return None
    return say(
        "closed_for_wish",
        tracker,
        wish=describe_wish(start, end, language_of(tracker), plan),
        hours=hours_of(None, tracker),
    )


def way_out(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """After too many misses: the phone, a person, or leaving the form."""
    dispatcher.utter_message(
        text=say("way_out", tracker, hours=hours_of("phone", tracker)),
        buttons=buttons_in(texts()["way_out_buttons"], language_of(tracker)),
    )
    return [SlotSet(MISSES_KEY, None)]


class ActionAskBookingChannel(Action):
    def name(self) -> Text:
        return "action_ask_booking_channel"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        if needs_way_out(tracker):
            return way_out(dispatcher, tracker)
        language = language_of(tracker)
        ruled_out = set(tracker.get_slot("booking_not_channels") or [])
        choices = [c for c in schedule().channels if c not in ruled_out] or list(schedule().channels)
        buttons = [
            {"title": channel_name(c, tracker), "payload": f'/inform{{"booking_channel": "{c}"}}'} for c in choices
        ]
        if misses(tracker):
            text = say("reask_channel", tracker)
        elif ruled_out:
            joiner = " or " if language == "en" else " eller "
            text = say(
                "ask_channel_without",
                tracker,
                ruled_out=joiner.join(channel_name(c, tracker) for c in ruled_out),
                choices=joiner.join(channel_name(c, tracker) for c in choices),
            )
        else:
            text = say("ask_channel", tracker)
        reminder = crisis_reminder(tracker, within=1)
        if reminder:  # booking right after a crisis answer: the lines that answer now come first
            dispatcher.utter_message(text=reminder)
        closed = closed_for_wish(tracker)
        if closed:  # "på kveldstid, 8-9": said at once, not after the channel has been chosen
            dispatcher.utter_message(text=closed)
        dispatcher.utter_message(text=text, buttons=buttons)
        return [SlotSet("booking_wish", None)] if closed else []  # said once; the times come after the channel


def wish_window(wish: Optional[str], plan: Schedule):
    """(start, end) from the booking_wish slot; (None, None) when there is no usable wish."""
    if not wish or wish == "unclear":
        return None, None
    first, _, second = wish.partition("|")
    try:
        if first == "after":
            return aware(datetime.fromisoformat(second)) + plan.slot_length / 2, None
        return aware(datetime.fromisoformat(first)), (aware(datetime.fromisoformat(second)) if second else None)
    except ValueError:  # not written by this module: no wish
        return None, None


def aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a time without a time zone")
    return moment


def describe_wish(start: datetime, end: Optional[datetime], language: str, plan: Schedule) -> str:
    if end is None:
        return ("after " if language == "en" else "etter ") + format_time(start, language, plan)
    return ("between {} and {}" if language == "en" else "mellom {} og {}").format(
        format_time(start, language, plan), format_time(end, language, plan)
    )


class ActionAskBookingSlot(Action):
    """Proposes the first free time that fits the user's wish (in the channel's own hours), with
    the next ones as buttons; says the channel's hours when the wish cannot be met."""

    def name(self) -> Text:
        return "action_ask_booking_slot"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        if needs_way_out(tracker):
            return way_out(dispatcher, tracker)
        plan = schedule()
        language = language_of(tracker)
        now = now_local(plan)
        channel = tracker.get_slot("booking_channel")
        wish = tracker.get_slot("booking_wish")
        start, end = wish_window(wish, plan)

        def free(first, last) -> List[datetime]:
            return free_on_allowed_days(tracker, plan, now, first, last, channel)

        offered = free(start, end) if start else []
        if misses(tracker):
            intro = say("wish_not_understood", tracker)
            if channel:  # "i work 7 to 15": when the channel is open helps more than examples
                intro = f"{channel_hours_line(channel, tracker)} {intro}"
        elif start and offered:
            intro = say(
                "propose_slot",
                tracker,
                time=format_time(offered[0], language, plan),
                channel=channel_name(channel, tracker) if channel else "",
            )
        elif start:
            intro = say("no_slot_in_wish", tracker, wish=describe_wish(start, end, language, plan))
            if channel:
                intro = f"{channel_hours_line(channel, tracker)} {intro}"
        else:
            intro = say("ask_slot", tracker, channel=channel_name(channel, tracker) if channel else "")
        if not offered:
            offered = free(start if start and not end else None, None)
        if not offered:
            dispatcher.utter_message(text=say("no_slots_at_all", tracker))
            return [SlotSet("booking_offered", [])]
        buttons = [
            {"title": format_time(slot, language, plan), "payload": f'/inform{{"booking_slot": "{slot.isoformat()}"}}'}
            for slot in offered
        ]
        buttons.append(
            {
                "title": text_in(texts()["other_times"], language),
                "payload": f'/inform{{"booking_wish": "{OTHER_TIMES}"}}',
            }
        )
        dispatcher.utter_message(text=intro, buttons=buttons)
        if channel == "phone":  # the time and the number often come together ("torsdag, 912 34 567")
            dispatcher.utter_message(json_message=EXPECTS_PHONE)
        return [SlotSet("booking_offered", [slot.isoformat() for slot in offered])]


class ActionAskBookingPhone(Action):
    def name(self) -> Text:
        return "action_ask_booking_phone"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        if needs_way_out(tracker):
            return way_out(dispatcher, tracker)
        dispatcher.utter_message(
            text=say("reask_phone" if misses(tracker) else "ask_phone", tracker, phone_days=phone_retention_days())
        )
        # Tells the gateway that the next message may hold a phone number it should not mask.
        dispatcher.utter_message(json_message=EXPECTS_PHONE)
        return []


def summary(tracker: Tracker, plan: Schedule) -> str:
    language = language_of(tracker)
    channel = tracker.get_slot("booking_channel")
    lines = [
        say(
            "summary_time",
            tracker,
            time=format_time(datetime.fromisoformat(tracker.get_slot("booking_slot")), language, plan),
        ),
        say("summary_channel", tracker, channel=text_in(texts()["channel_names"][channel], language)),
    ]
    if channel == "phone":
        lines.append(
            say("summary_phone", tracker, phone=masked_phone(phone_of(tracker.get_slot("booking_phone"), tracker)))
        )
    return "\n".join(lines)


class ActionAskBookingConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_booking_confirmed"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        if needs_way_out(tracker):
            return way_out(dispatcher, tracker)
        language = language_of(tracker)
        buttons = buttons_in(texts()["confirm_buttons"], language)
        text = say("ask_confirm", tracker, summary=summary(tracker, schedule()))
        if misses(tracker):
            text = say("reask_confirm", tracker) + "\n" + summary(tracker, schedule())
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


def request_key(tracker: Tracker) -> Optional[str]:
    """Names this conversation turn (the gateway sends the same turn id with every try of a
    message), so a turn retried after a fault finds the booking it already made."""
    turn = ((tracker.latest_message or {}).get("metadata") or {}).get(TURN)
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
        chosen, channel = tracker.get_slot("booking_slot"), tracker.get_slot("booking_channel")
        if not chosen or channel not in plan.channels or not tracker.get_slot("booking_confirmed"):
            # the form ended without a confirmed time (a refusal was said): nothing is booked
            return clear_booking_slots()
        slot = datetime.fromisoformat(chosen)
        moving = tracker.get_slot("booking_reference") if tracker.get_slot("booking_moving") else None
        if moving and verified_booking(tracker) is None:
            dispatcher.utter_message(text=say("reference_or_pin_wrong", tracker))
            return clear_booking_slots() + [SlotSet("booking_moving", None), SlotSet("booking_pin", None)]
        refusal = None if moving else booking_refusal(tracker)
        if refusal and not store().booked_by(request_key(tracker)):  # checked again: two tabs, one conversation
            dispatcher.utter_message(text=refusal)
            return clear_booking_slots()
        pin = None
        try:
            if moving:
                booking = store().move(moving, slot, plan.counsellors_per_slot)
            else:
                phone = phone_of(tracker.get_slot("booking_phone"), tracker) if channel == "phone" else None
                booking = store().book(
                    slot,
                    channel,
                    plan.counsellors_per_slot,
                    sender_id=tracker.sender_id,
                    phone=phone,
                    request_key=request_key(tracker),
                    client_key=client_of(tracker),
                )
                store().drop_phone_handles(tracker.sender_id)  # the number now lives in the booking only
                pin = new_pin()  # a retried turn gets a new one: only the PIN shown last works
                store().set_pin_hash(booking.reference, pin_hash(booking.reference, pin))
        except SlotTaken:
            dispatcher.utter_message(text=say("slot_taken_at_confirm", tracker))
            return [
                SlotSet("booking_slot", None),
                SlotSet("booking_confirmed", None),
                SlotSet("booking_wish", f"after|{slot.isoformat()}"),
                FollowupAction("booking_form"),
            ]
        when = format_time(booking.slot_start, language, plan)
        if moving:
            dispatcher.utter_message(text=say("moved", tracker, time=when, reference=booking.reference))
        else:
            dispatcher.utter_message(text=say("booked", tracker, reference=booking.reference, pin=pin))
            dispatcher.utter_message(
                text=text_in(texts()["next_steps"][channel], language).format(**service_details(), time=when)
            )
        return clear_booking_slots() + [
            SlotSet("booking_reference", booking.reference),
            SlotSet("booking_moving", None),
            SlotSet("booking_pin", None),
        ]


# --- cancel or move a booking by its reference ------------------------------------------------
def code_in_text(text: str, asked: bool = False) -> Optional[str]:
    """The first reference code in the message (core/reference_codes.py says what counts)."""
    return next((code for _, _, code in codes_in_text(text, asked)), None)


# The user has no code and accepts to call us instead: the form ends without a booking found.
NO_CODE_LEFT = "no_code_left"


# "kan vi ta den där chatten ändå, onsdag kl 10?" while a booking waits and none exists yet: the
# waiting booking goes on (the classifier reads "ta den chatten" as moving a booking).
RESUME_BOOKING = "resume_booking"


def resumes_paused_booking(tracker: Tracker) -> bool:
    if tracker.get_slot("paused_form") != "booking_form" or latest_intent(tracker) != "move_booking":
        return False
    if code_in_text((tracker.latest_message or {}).get("text") or ""):
        return False
    return not store().bookings_of_sender(tracker.sender_id)


def says_no_code(tracker: Tracker) -> bool:
    """ "jeg har ikke koden", "i lost the code": the message that starts a cancel or move already
    says there is no code, so the bot tells how to do without it instead of asking for it."""
    return says_any("no_code_words", (tracker.latest_message or {}).get("text") or "", max_gap=2)


def active_booking(reference: str):
    if reference in (None, NO_CODE_LEFT) or not looks_like_code(reference):
        return None
    try:
        booking = store().find(reference)
    except NotFound:
        return None
    return booking if booking.status == "booked" else None


def made_here(booking, tracker: Tracker) -> bool:
    return booking is not None and booking.sender_id is not None and booking.sender_id == tracker.sender_id


def needs_pin(tracker: Tracker) -> bool:
    """Unless the reference is of a booking this conversation made (or the user has none). Also
    for a reference of no booking at all: the answer must not tell a real one from a false one.
    Also before the reference is known, so that a PIN typed with it is read."""
    reference = tracker.slots.get("booking_reference")
    if reference in (NO_CODE_LEFT, RESUME_BOOKING):
        return False
    return reference is None or not made_here(active_booking(reference), tracker)


def verified_booking(tracker: Tracker):
    """The booking to cancel or move: made in this conversation, or opened with its PIN."""
    booking = active_booking(tracker.get_slot("booking_reference"))
    if made_here(booking, tracker) or (booking is not None and tracker.get_slot("booking_pin") == VERIFIED):
        return booking
    return None


def code_key(reference: str) -> str:
    return hashlib.sha256(f"code\n{normalise_code(reference)}".encode()).hexdigest()


def too_many_tries(reference: str, tracker: Tracker) -> bool:
    since = clock.now() - limits.TRIES_WINDOW
    return (
        store().count_failed("code", code_key(reference), since) >= limits.FAILED_TRIES_PER_CODE
        or store().count_failed("client", client_of(tracker), since) >= limits.FAILED_TRIES_PER_CLIENT
    )


class ValidateManageBookingForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_manage_booking_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[Text]:
        if tracker.slots.get("booking_reference") == RESUME_BOOKING:
            return ["booking_reference"]  # filled: the form ends (and its slot is kept for the submit)
        slots = [slot for slot in domain_slots if slot != "booking_pin" or needs_pin(tracker)]
        if tracker.slots.get("manage_action") == "move":
            return [slot for slot in slots if slot != "manage_confirmed"]
        return slots

    async def extract_manage_action(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        intent = latest_intent(tracker)
        if intent in ("cancel_booking", "move_booking") and tracker.get_slot("requested_slot") is None:
            return {"manage_action": "cancel" if intent == "cancel_booking" else "move"}
        return {}

    async def extract_booking_reference(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        asked = tracker.get_slot("requested_slot") == "booking_reference"
        starting = tracker.get_slot("requested_slot") is None
        if must_not_be_read(tracker):
            return {}
        if resumes_paused_booking(tracker):  # (the paused booking's question is still the one asked)
            return {"booking_reference": RESUME_BOOKING}
        if not (asked or starting):
            return {}
        code = code_in_text(tracker.latest_message.get("text") or "", asked=asked)
        if code:  # a typed code is an answer whatever the classifier made of it ("acd-479")
            return {"booking_reference": code}
        intent = latest_intent(tracker)
        if intent == "book_counsellor":
            return {}  # "then I'll book a new one instead": data/form_rules.yml starts the booking
        if asked and misses(tracker) and (intent == "thanks" or is_answer(tracker)):
            # "ok takk", "kan jeg ikke bare la være å ta telefonen?" after being told to call us
            return {"booking_reference": NO_CODE_LEFT}
        if not is_answer(tracker) and not (starting and says_no_code(tracker)):
            return {}
        # A booking made in this same conversation needs no code ("har en time på onsdag").
        own = store().bookings_of_sender(tracker.sender_id)
        if own:
            return {"booking_reference": own[0].reference}
        return {"booking_reference": "no_code"} if asked or says_no_code(tracker) else {}

    def validate_booking_reference(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if value == RESUME_BOOKING:
            return {"booking_reference": value, "manage_confirmed": False}
        if value == NO_CODE_LEFT:
            return {"booking_reference": value, "manage_confirmed": False, **no_miss()}
        if value == "no_code":
            dispatcher.utter_message(text=say("no_code_help", tracker, hours=hours_of("phone", tracker)))
            return {"booking_reference": None, **missed(tracker)}
        if not looks_like_code(value):
            dispatcher.utter_message(text=say("reference_unknown", tracker))
            return {"booking_reference": None}
        if not made_here(active_booking(value), tracker) and too_many_tries(value, tracker):
            dispatcher.utter_message(text=say("too_many_tries", tracker))
            return {"booking_reference": NO_CODE_LEFT, "manage_confirmed": False, **no_miss()}
        return {"booking_reference": normalise_code(value)}

    async def extract_booking_pin(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        """Four digits, asked for or typed with the reference ("ACDE-479K 4821")."""
        asked = tracker.get_slot("requested_slot")
        if must_not_be_read(tracker) or asked not in ("booking_pin", "booking_reference", None):
            return {}
        text = tracker.latest_message.get("text") or ""
        pin = pin_in_text(text, code_in_text(text) or tracker.get_slot("booking_reference"))
        if pin:
            return {"booking_pin": pin}
        if asked == "booking_pin" and is_answer(tracker):
            return {"booking_pin": ""}  # an answer without four digits counts as a wrong PIN
        return {}

    def validate_booking_pin(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if value == VERIFIED:
            return {"booking_pin": value}
        reference = tracker.get_slot("booking_reference")
        if reference in (None, NO_CODE_LEFT, RESUME_BOOKING) or made_here(active_booking(reference), tracker):
            return {"booking_pin": None}  # no reference yet, or none needed
        if too_many_tries(reference, tracker):
            dispatcher.utter_message(text=say("too_many_tries", tracker))
            return {"booking_reference": NO_CODE_LEFT, "booking_pin": None, "manage_confirmed": False, **no_miss()}
        booking = active_booking(reference)
        if booking is not None and pin_matches(booking.reference, value or "", booking.pin_hash):
            return {"booking_pin": VERIFIED}
        store().record_failed(
            [("code", code_key(reference)), ("client", client_of(tracker))], clock.now(), limits.TRIES_WINDOW
        )
        # The same answer for an unknown reference and a wrong PIN: a guess learns nothing.
        dispatcher.utter_message(text=say("reference_or_pin_wrong", tracker))
        return {"booking_reference": None, "booking_pin": None}

    async def extract_manage_confirmed(self, dispatcher, tracker, domain) -> Dict[Text, Any]:
        if not is_answer(tracker) or tracker.get_slot("requested_slot") != "manage_confirmed":
            return {}
        return {"manage_confirmed": latest_intent(tracker) == "affirm"}


class ActionAskBookingReference(Action):
    def name(self) -> Text:
        return "action_ask_booking_reference"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        dispatcher.utter_message(text=say("reask_reference" if misses(tracker) else "ask_reference", tracker))
        return []


class ActionAskBookingPin(Action):
    def name(self) -> Text:
        return "action_ask_booking_pin"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        dispatcher.utter_message(text=say("ask_pin", tracker))
        return []


class ActionAskManageConfirmed(Action):
    def name(self) -> Text:
        return "action_ask_manage_confirmed"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        plan, language = schedule(), language_of(tracker)
        booking = verified_booking(tracker)
        if booking is None:  # cancelled meanwhile (by the counsellors or another tab)
            dispatcher.utter_message(text=say("reference_or_pin_wrong", tracker))
            return [
                SlotSet("booking_reference", None),
                SlotSet("booking_pin", None),
                SlotSet("requested_slot", "booking_reference"),
            ]
        buttons = buttons_in(texts()["cancel_buttons"], language)
        dispatcher.utter_message(
            text=say(
                "ask_cancel_confirm",
                tracker,
                time=format_time(booking.slot_start, language, plan),
                channel=text_in(texts()["channel_names"][booking.channel], language),
            ),
            buttons=buttons,
        )
        return []


class ActionSubmitManageBooking(Action):
    """Cancels the booking, or starts choosing a new time for it."""

    def name(self) -> Text:
        return "action_submit_manage_booking"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        plan, language = schedule(), language_of(tracker)
        reference = tracker.get_slot("booking_reference")
        booking = verified_booking(tracker)
        reset = [SlotSet("manage_action", None), SlotSet("manage_confirmed", None), SlotSet("booking_pin", None)]
        if reference == NO_CODE_LEFT:
            dispatcher.utter_message(text=say("left_without_code", tracker, hours=hours_of("phone", tracker)))
            return reset + [SlotSet("booking_reference", None)]
        if reference == RESUME_BOOKING:  # the booking that waited goes on, reading this message
            resume = [SlotSet("booking_reference", None), SlotSet("paused_form", None)]
            return reset + resume + [FollowupAction("booking_form")]
        if booking is None:
            dispatcher.utter_message(text=say("reference_or_pin_wrong", tracker))
            return reset + [SlotSet("booking_reference", None)]
        if tracker.get_slot("manage_action") == "move":  # the PIN's "verified" stays until the move is made
            return reset[:2] + [
                SlotSet("booking_moving", True),
                SlotSet("booking_channel", booking.channel),
                # masked: the number is the booking's, and stays in the bookings store only
                SlotSet("booking_phone", masked_phone(booking.phone) if booking.phone else "-"),
                SlotSet("booking_slot", None),
                SlotSet("booking_confirmed", None),
                FollowupAction("booking_form"),
            ]
        if tracker.get_slot("manage_confirmed"):
            store().cancel(reference)
            dispatcher.utter_message(
                text=say("cancelled", tracker, time=format_time(booking.slot_start, language, plan))
            )
        else:
            dispatcher.utter_message(text=say("kept", tracker))
        return reset
