"""The booking conversation's actions, with rasa-sdk's real Tracker and a real SQLite store."""

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions import booking_form as bf
from core.booking_store import BookingStore

OSLO = ZoneInfo("Europe/Oslo")
DOMAIN = {
    "forms": {
        "booking_form": {"required_slots": ["booking_channel", "booking_slot", "booking_phone", "booking_confirmed"]},
        "manage_booking_form": {
            "required_slots": ["manage_action", "booking_reference", "booking_pin", "manage_confirmed"]
        },
    },
    "slots": {},
    "responses": {},
}


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


@pytest.mark.parametrize(
    "text, number",
    [
        ("912 34 567", "+47 91 23 45 67"),
        ("+47 91234567", "+47 91 23 45 67"),
        ("0047 912 34 567", "+47 91 23 45 67"),
        ("nummeret mitt er 41234567", "+47 41 23 45 67"),
        ("1234", None),
        ("abc", None),
        ("+46 70 123 45 67", None),
    ],
)
def test_norwegian_phone_numbers(text, number):
    assert bf.norwegian_phone(text) == number


@pytest.mark.parametrize(
    "text, channel",
    [
        ("kan dere ringe meg", "phone"),
        ("helst chat", "chat"),
        ("jeg vil komme innom kontoret", "in_person"),
        ("by phone please", "phone"),
        ("tja", None),
    ],
)
def test_channel_in_free_text(text, channel):
    assert bf.channel_in_text(text) == channel


def test_channel_given_up_front_is_taken_at_the_start():
    _, events = run(bf.ValidateBookingForm(), tracker("kan dere ringe meg i morgen", "book_counsellor"))
    slots = slot_events(events)
    assert slots["booking_channel"] == "phone"
    tomorrow = (bf.now_local(bf.schedule()) + timedelta(days=1)).date().isoformat()
    assert slots["booking_wish"].startswith(tomorrow)


def test_a_question_in_the_form_is_not_taken_as_an_answer():
    _, events = run(
        bf.ValidateBookingForm(), tracker("hva koster en test", "faq", slots={"requested_slot": "booking_channel"})
    )
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
    messages, events = run(
        bf.ValidateBookingForm(),
        tracker(
            "/inform",
            slots={"requested_slot": "booking_slot", "booking_channel": "chat"},
            entities=[{"entity": "booking_slot", "value": slot.isoformat()}],
        ),
    )
    assert slot_events(events)["booking_slot"] is None
    assert "ikke ledig" in messages[0]["text"]


def test_invalid_phone_is_explained_and_asked_again():
    messages, events = run(
        bf.ValidateBookingForm(), tracker("123", slots={"requested_slot": "booking_phone", "booking_channel": "phone"})
    )
    assert slot_events(events)["booking_phone"] is None
    assert "8 siffer" in messages[0]["text"]


def test_phone_is_not_asked_for_chat_bookings():
    slot = next_free(channel="chat")[0].isoformat()
    _, events = run(
        bf.ValidateBookingForm(),
        tracker(
            "/inform",
            slots={"requested_slot": "booking_slot", "booking_channel": "chat"},
            entities=[{"entity": "booking_slot", "value": slot}],
        ),
    )
    assert slot_events(events)["requested_slot"] == "booking_confirmed"


def test_submit_books_and_gives_a_reference(fresh_store):
    slot = next_free()[0]
    messages, events = run(
        bf.ActionSubmitBooking(),
        tracker(
            slots={
                "booking_slot": slot.isoformat(),
                "booking_channel": "phone",
                "booking_phone": "+47 912 34 567",
                "booking_confirmed": True,
            }
        ),
    )
    reference = slot_events(events)["booking_reference"]
    assert reference in messages[0]["text"]
    assert "Vi ringer deg" in messages[1]["text"]
    stored = fresh_store.find(reference)
    assert stored.phone == "+47 912 34 567" and stored.sender_id == "pseudo-1"
    pin = messages[0]["text"].split("PIN-koden ")[1][:4]
    from core.booking_pins import pin_matches

    assert pin.isdigit() and pin_matches(reference, pin, stored.pin_hash)


def test_one_active_booking_per_conversation_and_a_few_per_address(fresh_store, monkeypatch):
    fresh_store.book(next_free()[0], "chat", 1, sender_id="pseudo-1")
    messages, events = run(bf.ValidateBookingForm(), tracker("jeg vil bestille en time til"))
    assert "allerede en time" in messages[0]["text"]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
    monkeypatch.setattr(bf.limits, "BOOKINGS_PER_CLIENT_PER_DAY", 2)
    for n in range(2):
        fresh_store.book(next_free()[0], "chat", 1, sender_id=f"other-{n}", client_key="addr-7")
    latest = {
        "text": "bestille",
        "intent": {"name": "book_counsellor"},
        "entities": [],
        "metadata": {"client": "addr-7"},
    }
    track = Tracker("pseudo-new", {}, latest, [], False, None, {}, "action_listen")
    messages, _ = run(bf.ValidateBookingForm(), track)
    assert "mange timer herfra" in messages[0]["text"]
    slot = next_free(channel="chat")[0].isoformat()
    track = Tracker(
        "pseudo-new",
        {"booking_slot": slot, "booking_channel": "chat", "booking_confirmed": True},
        latest,
        [],
        False,
        None,
        {},
        "action_listen",
    )
    messages, _ = run(bf.ActionSubmitBooking(), track)  # the limit holds at the end too
    assert "mange timer herfra" in messages[0]["text"]
    assert len(fresh_store.bookings_of_sender("pseudo-new")) == 0


def test_a_forged_time_or_wish_is_refused_not_a_crash(fresh_store):
    for value in ["2026-12-03T10:00:00", "not a time", "2026-12-03T10:00:00+01:00|x"]:
        messages, events = run(
            bf.ValidateBookingForm(),
            tracker(
                "/inform",
                slots={"requested_slot": "booking_slot", "booking_channel": "chat"},
                entities=[{"entity": "booking_slot", "value": value}],
            ),
        )
        assert slot_events(events).get("booking_slot") is None
    assert bf.wish_window("2026-12-03T10:00:00|", bf.schedule()) == (None, None)
    assert bf.wish_window("after|a|b", bf.schedule()) == (None, None)


def test_submit_books_nothing_without_a_confirmation(fresh_store):
    slot = next_free()[0]
    _, events = run(
        bf.ActionSubmitBooking(), tracker(slots={"booking_slot": slot.isoformat(), "booking_channel": "chat"})
    )
    assert "booking_reference" not in slot_events(events)
    assert fresh_store.free_slots(bf.schedule(), bf.now_local(bf.schedule()), 1)[0] == slot


def test_submit_when_someone_was_faster_offers_the_next_times(fresh_store):
    slot = next_free()[0]
    fresh_store.book(slot, "chat", 1)
    messages, events = run(
        bf.ActionSubmitBooking(),
        tracker(slots={"booking_slot": slot.isoformat(), "booking_channel": "chat", "booking_confirmed": True}),
    )
    assert "rett før deg" in messages[0]["text"]
    assert FollowupAction("booking_form") in events
    assert slot_events(events)["booking_slot"] is None


def test_cancel_by_reference_in_the_conversation_that_booked(fresh_store):
    booking = fresh_store.book(next_free()[0], "chat", 1, sender_id="pseudo-1")
    typed = booking.reference.lower().replace("-", " ")
    _, events = run(
        bf.ValidateManageBookingForm(),
        tracker(f"koden er {typed}", slots={"requested_slot": "booking_reference", "manage_action": "cancel"}),
    )
    assert slot_events(events)["booking_reference"] == booking.reference
    assert slot_events(events)["requested_slot"] == "manage_confirmed"  # no PIN asked here
    messages, _ = run(
        bf.ActionSubmitManageBooking(),
        tracker(slots={"booking_reference": booking.reference, "manage_action": "cancel", "manage_confirmed": True}),
    )
    assert "avbestilt" in messages[0]["text"]
    assert fresh_store.find(booking.reference).status == "cancelled"


def book_with_pin(store, pin="4821", sender_id="someone-else", **extra):
    from core.booking_pins import pin_hash

    booking = store.book(next_free()[0], extra.pop("channel", "chat"), 1, sender_id=sender_id, **extra)
    store.set_pin_hash(booking.reference, pin_hash(booking.reference, pin))
    return booking


def test_from_another_conversation_the_pin_is_needed(fresh_store):
    booking = book_with_pin(fresh_store)
    _, events = run(
        bf.ValidateManageBookingForm(),
        tracker(booking.reference, slots={"requested_slot": "booking_reference", "manage_action": "cancel"}),
    )
    assert slot_events(events) == {"booking_reference": booking.reference}  # the form asks the PIN next
    assert bf.needs_pin(tracker(slots={"booking_reference": booking.reference}))
    _, events = run(
        bf.ValidateManageBookingForm(),
        tracker(
            "det er 4821",
            slots={"requested_slot": "booking_pin", "manage_action": "cancel", "booking_reference": booking.reference},
        ),
    )
    assert slot_events(events)["booking_pin"] == bf.VERIFIED


def test_the_reference_and_pin_may_come_together(fresh_store):
    booking = book_with_pin(fresh_store, pin="3479")
    _, events = run(
        bf.ValidateManageBookingForm(),
        tracker(
            f"avbestill {booking.reference} pin 3479",
            slots={"requested_slot": "booking_reference", "manage_action": "cancel"},
        ),
    )
    assert slot_events(events)["booking_pin"] == bf.VERIFIED


def answer_to_pin(reference, pin, sender="pseudo-1", client="addr-1"):
    latest = {
        "text": pin,
        "intent": {"name": "inform", "confidence": 1.0},
        "entities": [],
        "metadata": {"client": client},
    }
    track = Tracker(
        sender,
        {"requested_slot": "booking_pin", "manage_action": "cancel", "booking_reference": reference},
        latest,
        [],
        False,
        None,
        {},
        "action_listen",
    )
    return run(bf.ValidateManageBookingForm(), track)


def test_an_unknown_reference_and_a_wrong_pin_get_the_same_answer(fresh_store):
    booking = book_with_pin(fresh_store)
    wrong_pin, events_wrong = answer_to_pin(booking.reference, "1111")
    unknown, events_unknown = answer_to_pin("ACDE-479K", "4821", client="addr-2")
    assert [m["text"] for m in wrong_pin] == [m["text"] for m in unknown]
    assert slot_events(events_wrong)["booking_reference"] is None
    assert slot_events(events_unknown)["booking_reference"] is None
    assert "passer ikke" in wrong_pin[0]["text"]
    assert fresh_store.find(booking.reference).status == "booked"


def test_failed_tries_are_limited_per_reference_and_per_address(fresh_store, monkeypatch):
    monkeypatch.setattr(bf.limits, "FAILED_TRIES_PER_CODE", 3)
    monkeypatch.setattr(bf.limits, "FAILED_TRIES_PER_CLIENT", 5)
    booking = book_with_pin(fresh_store)
    for n in range(3):
        answer_to_pin(booking.reference, f"00{n}0", client=f"addr-{n}")
    locked, events = answer_to_pin(booking.reference, "4821", client="addr-9")  # right PIN, too late
    assert "for mange forsøk" in locked[0]["text"]
    assert slot_events(events)["booking_pin"] is None
    for n in range(5):  # one address guessing many references
        answer_to_pin(bf.normalise_code(f"ACDE{n}{n}{n}{n}".replace("0", "3")), "1234", client="guesser")
    other = book_with_pin(fresh_store, pin="5555")
    locked, _ = answer_to_pin(other.reference, "5555", client="guesser")
    assert "for mange forsøk" in locked[0]["text"]


def test_a_pin_alone_opens_nothing(fresh_store):
    booking = book_with_pin(fresh_store)
    messages, _ = run(
        bf.ActionSubmitManageBooking(),
        tracker(slots={"booking_reference": booking.reference, "manage_action": "cancel", "manage_confirmed": True}),
    )
    assert fresh_store.find(booking.reference).status == "booked"
    messages, _ = run(
        bf.ActionSubmitManageBooking(),
        tracker(
            slots={
                "booking_reference": booking.reference,
                "manage_action": "cancel",
                "manage_confirmed": True,
                "booking_pin": "4821",
            }
        ),
    )  # a PIN typed into the slot, not checked
    assert fresh_store.find(booking.reference).status == "booked"


def test_moving_shows_the_number_masked_and_never_copies_it(fresh_store):
    booking = book_with_pin(fresh_store, channel="phone", phone="+47 91 23 45 67")
    _, events = run(
        bf.ActionSubmitManageBooking(),
        tracker(slots={"booking_reference": booking.reference, "manage_action": "move", "booking_pin": bf.VERIFIED}),
    )
    assert slot_events(events)["booking_phone"] == "+47 •• •• 45 67"
    assert "91 23" not in str(events)


def test_move_keeps_the_reference(fresh_store):
    first, second = next_free(2)
    booking = fresh_store.book(first, "chat", 1, sender_id="pseudo-1")
    _, events = run(
        bf.ActionSubmitManageBooking(), tracker(slots={"booking_reference": booking.reference, "manage_action": "move"})
    )
    assert FollowupAction("booking_form") in events
    messages, _ = run(
        bf.ActionSubmitBooking(),
        tracker(
            slots={
                "booking_slot": second.isoformat(),
                "booking_channel": "chat",
                "booking_reference": booking.reference,
                "booking_moving": True,
                "booking_confirmed": True,
            }
        ),
    )
    assert "flyttet" in messages[0]["text"]
    assert fresh_store.find(booking.reference).slot_start == second


@pytest.mark.parametrize(
    "text, asked, code",
    [
        ("koden er wkyt 4cd9", False, "WKYT-4CD9"),
        ("avbestill ACDE-479K pin 3479", False, "ACDE-479K"),
        ("acde-fhkm", False, "ACDE-FHKM"),
        ("acde fhkm", True, "ACDE-FHKM"),
        ("koden er acde fhkm", True, "ACDE-FHKM"),
        ("acd efh", True, "ACD-EFH"),
        ("det e vel bare æ som har den tida", True, None),  # "har den": two words, not an old code
        ("acd479", False, "ACD-479"),
        # words that happen to use only the code's letters are not codes
        ("Eg har ein time hjå dykk på torsdag", False, None),
        ("den nye timen", False, None),
        ("fremme", False, None),
        ("acde fhkm", False, None),
        ("ring 47933479", False, None),
        ("hhhhhhhh jkkk,,, nnnn", False, None),  # keyboard mashing stays mashing (components/text_model.py)
    ],
)
def test_reference_codes_in_what_people_write(text, asked, code):
    assert bf.code_in_text(text, asked) == code


def test_a_named_time_with_nothing_free_near_it_gets_the_nearest_free_time_to_confirm(fresh_store):
    plan = bf.schedule()
    now = bf.now_local(plan)
    # chat opens at 10 or later: "kl 08" on the first chat day ahead has nothing free near it
    first = next(slot for slot in next_free(60, channel="chat") if slot.date() > now.date())
    day = first.strftime("%A").lower()
    track = tracker(f"{day} kl 08", slots={"booking_channel": "chat", "requested_slot": "booking_slot"})
    dispatcher = CollectingDispatcher()
    values = bf.ValidateBookingForm().read(dispatcher, track)
    chosen = values["booking_slot"]
    assert chosen is not None and chosen.startswith(first.date().isoformat()) and now.isoformat() < chosen
    said = " ".join(m["text"] for m in dispatcher.messages)
    assert "Det er ikke ledig" in said and "men jeg har" in said and "Chat med en rådgiver har vi" in said


def test_moving_while_a_booking_waits_and_none_exists_goes_on_with_the_waiting_booking(fresh_store):
    # "kan vi ta den där chatten ändå, onsdag kl 10?" after a crisis paused the booking
    slots = {"paused_form": "booking_form", "requested_slot": None, "booking_channel": "chat"}
    track = tracker("okej. kan vi ta den där chatten ändå, onsdag kl 10?", "move_booking", slots)
    _, events = run(bf.ValidateManageBookingForm(), track)
    assert slot_events(events)["booking_reference"] == bf.RESUME_BOOKING
    _, events = run(bf.ActionSubmitManageBooking(), tracker("", "move_booking", {**slots, **slot_events(events)}))
    assert FollowupAction("booking_form") in events and slot_events(events)["paused_form"] is None
    # with a booking of its own, the same words move that booking
    fresh_store.book(next_free(channel="chat")[0], "chat", 1, sender_id="pseudo-1")
    _, events = run(bf.ValidateManageBookingForm(), track)
    assert slot_events(events).get("booking_reference") != bf.RESUME_BOOKING
