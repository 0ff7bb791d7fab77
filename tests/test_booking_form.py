"""The booking conversation's actions, with rasa-sdk's real Tracker and a real SQLite store."""
import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions import booking_form as bf
from actions.booking_store import BookingStore

OSLO = ZoneInfo("Europe/Oslo")
DOMAIN = {"forms": {"booking_form": {"required_slots": ["booking_channel", "booking_slot", "booking_phone",
                                                        "booking_confirmed"]},
                    "manage_booking_form": {"required_slots": ["manage_action", "booking_reference",
                                                               "manage_confirmed"]}},
          "slots": {}, "responses": {}}


@pytest.fixture(autouse=True)
def fresh_store(tmp_path, monkeypatch):
    store = BookingStore(f"sqlite:///{tmp_path / 'b.db'}")
    store.migrate()
    monkeypatch.setattr(bf, "_store", store)
    return store


def tracker(text="", intent="inform", slots=None, entities=()):
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": list(entities)}
    return Tracker("pseudo-1", dict(slots or {}), latest, [], False, None, {}, "action_listen")


def run(action, track):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, track, DOMAIN))
    return dispatcher.messages, events


def slot_events(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def next_free(count=1, channel=None):
    plan = bf.schedule()
    return bf.store().free_slots(plan, bf.now_local(plan), count, channel=channel)


@pytest.mark.parametrize("text, number", [
    ("912 34 567", "+47 91 23 45 67"), ("+47 91234567", "+47 91 23 45 67"), ("0047 912 34 567", "+47 91 23 45 67"),
    ("nummeret mitt er 41234567", "+47 41 23 45 67"), ("1234", None), ("abc", None), ("+46 70 123 45 67", None),
])
def test_norwegian_phone_numbers(text, number):
    assert bf.norwegian_phone(text) == number


@pytest.mark.parametrize("text, channel", [
    ("kan dere ringe meg", "phone"), ("helst chat", "chat"), ("jeg vil komme innom kontoret", "in_person"),
    ("by phone please", "phone"), ("tja", None),
])
def test_channel_in_free_text(text, channel):
    assert bf.channel_in_text(text) == channel


def test_channel_given_up_front_is_taken_at_the_start():
    _, events = run(bf.ValidateBookingForm(), tracker("kan dere ringe meg i morgen", "book_counsellor"))
    slots = slot_events(events)
    assert slots["booking_channel"] == "phone"
    tomorrow = (bf.now_local(bf.schedule()) + timedelta(days=1)).date().isoformat()
    assert slots["booking_wish"].startswith(tomorrow)


def test_a_question_in_the_form_is_not_taken_as_an_answer():
    _, events = run(bf.ValidateBookingForm(), tracker("hva koster en test", "faq",
                                                       slots={"requested_slot": "booking_channel"}))
    assert "booking_channel" not in slot_events(events)


def test_offered_slots_are_free_and_at_most_four_plus_other_times(fresh_store):
    first = next_free()[0]
    fresh_store.book(first, "chat", 1)
    messages, events = run(bf.ActionAskBookingSlot(), tracker(slots={"booking_wish": None}))
    buttons = messages[0]["buttons"]
    assert len(buttons) == 5 and buttons[-1]["title"] == "Andre tider"
    assert first.isoformat() not in " ".join(b["payload"] for b in buttons)
    assert len(slot_events(events)["booking_offered"]) == 4


def test_a_wish_with_no_free_time_is_said_plainly():
    plan = bf.schedule()
    sunday = bf.now_local(plan)
    while sunday.weekday() != 6:
        sunday += timedelta(days=1)
    start = sunday.replace(hour=0, minute=0, second=0, microsecond=0)
    wish = f"{start.isoformat()}|{(start + timedelta(days=1)).isoformat()}"
    messages, _ = run(bf.ActionAskBookingSlot(), tracker(slots={"booking_wish": wish}))
    assert messages[0]["text"].startswith("Det er dessverre ingen ledige tider")
    assert len(messages[0]["buttons"]) == 5


def test_a_taken_slot_is_refused_when_chosen(fresh_store):
    slot = next_free(channel="chat")[0]
    fresh_store.book(slot, "chat", 1)
    messages, events = run(bf.ValidateBookingForm(), tracker(
        "/inform", slots={"requested_slot": "booking_slot", "booking_channel": "chat"},
        entities=[{"entity": "booking_slot", "value": slot.isoformat()}]))
    assert slot_events(events)["booking_slot"] is None
    assert "ikke ledig" in messages[0]["text"]


def test_invalid_phone_is_explained_and_asked_again():
    messages, events = run(bf.ValidateBookingForm(), tracker(
        "123", slots={"requested_slot": "booking_phone", "booking_channel": "phone"}))
    assert slot_events(events)["booking_phone"] is None
    assert "8 siffer" in messages[0]["text"]


def test_phone_is_not_asked_for_chat_bookings():
    slot = next_free(channel="chat")[0].isoformat()
    _, events = run(bf.ValidateBookingForm(), tracker(
        "/inform", slots={"requested_slot": "booking_slot", "booking_channel": "chat"},
        entities=[{"entity": "booking_slot", "value": slot}]))
    assert slot_events(events)["requested_slot"] == "booking_confirmed"


def test_submit_books_and_gives_a_reference(fresh_store):
    slot = next_free()[0]
    messages, events = run(bf.ActionSubmitBooking(), tracker(slots={
        "booking_slot": slot.isoformat(), "booking_channel": "phone", "booking_phone": "+47 912 34 567"}))
    reference = slot_events(events)["booking_reference"]
    assert reference in messages[0]["text"]
    assert "Vi ringer deg" in messages[1]["text"]
    stored = fresh_store.find(reference)
    assert stored.phone == "+47 912 34 567" and stored.sender_id == "pseudo-1"


def test_submit_when_someone_was_faster_offers_the_next_times(fresh_store):
    slot = next_free()[0]
    fresh_store.book(slot, "chat", 1)
    messages, events = run(bf.ActionSubmitBooking(), tracker(slots={
        "booking_slot": slot.isoformat(), "booking_channel": "chat"}))
    assert "rett før deg" in messages[0]["text"]
    assert FollowupAction("booking_form") in events
    assert slot_events(events)["booking_slot"] is None


def test_cancel_by_reference(fresh_store):
    booking = fresh_store.book(next_free()[0], "chat", 1)
    typed = booking.reference.lower().replace("-", " ")
    _, events = run(bf.ValidateManageBookingForm(), tracker(
        f"koden er {typed}", slots={"requested_slot": "booking_reference", "manage_action": "cancel"}))
    assert slot_events(events)["booking_reference"] == booking.reference
    messages, _ = run(bf.ActionSubmitManageBooking(), tracker(slots={
        "booking_reference": booking.reference, "manage_action": "cancel", "manage_confirmed": True}))
    assert "avbestilt" in messages[0]["text"]
    assert fresh_store.find(booking.reference).status == "cancelled"


def test_unknown_reference_is_said_plainly():
    messages, events = run(bf.ValidateManageBookingForm(), tracker(
        "ACD-479", slots={"requested_slot": "booking_reference", "manage_action": "cancel"}))
    assert slot_events(events)["booking_reference"] is None
    assert "finner ingen" in messages[0]["text"]


def test_move_keeps_the_reference(fresh_store):
    first, second = next_free(2)
    booking = fresh_store.book(first, "chat", 1)
    _, events = run(bf.ActionSubmitManageBooking(), tracker(slots={
        "booking_reference": booking.reference, "manage_action": "move"}))
    assert FollowupAction("booking_form") in events
    messages, _ = run(bf.ActionSubmitBooking(), tracker(slots={
        "booking_slot": second.isoformat(), "booking_channel": "chat", "booking_reference": booking.reference,
        "booking_moving": True}))
    assert "flyttet" in messages[0]["text"]
    assert fresh_store.find(booking.reference).slot_start == second
