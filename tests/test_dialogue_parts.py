"""The dialogue's reading helpers: channels with negation, follow-up questions, times that are
still ahead, ordinal choices, the hours text written from the schedule."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from actions.booking_form import channel_in_text, choice_in, norwegian_phone
from actions.form_reading import ordinal_choice, without_ordinals
from actions.time_wishes import parse_wish
from components.follow_up import FollowUpDetector
from core.availability import Schedule
from core.dates import describe_week
from tests.conftest import ROOT

OSLO = ZoneInfo("Europe/Oslo")
TUESDAY_EVENING = datetime(2027, 1, 12, 19, 40, tzinfo=OSLO)


@pytest.mark.parametrize(
    "text, wanted, ruled_out",
    [
        ("bare på chat, ikke telefon", "chat", {"phone"}),
        ("jeg vil ikke ringe noen", None, {"phone"}),
        ("nei, heller kontoret", "in_person", set()),
        ("ikke telefon likevel, ta det på chat", "chat", {"phone"}),
        ("kan vi ta det på chat i stedet?", "chat", set()),
        ("eg vil ikkje bli ringt, helst skrive", "chat", {"phone"}),
        ("not by phone please, chat is better", "chat", {"phone"}),
        ("kan dere ringe meg", "phone", set()),
        ("jeg vil snakke med en person", None, set()),
        # a refusal after the channel word rules it out
        ("Office is impossible, Oslo is two hours by plane.", None, {"in_person"}),
        ("Telefon. Eg kjem meg ikkje til kontoret. Og chat er eg for treig til.", "phone", {"in_person", "chat"}),
        ("telefon går ikke, kollegene hører alt. chat", "chat", {"phone"}),
        ("ring meg, jeg kan ikke skrive så godt", "phone", {"chat"}),
        ("Telefon passar best, eg er ikkje så stø på denne chatten.", "phone", {"chat"}),
    ],
)
def test_channel_with_negation_and_change_of_mind(text, wanted, ruled_out):
    choice = choice_in(text)
    assert (choice.wanted, choice.ruled_out) == (wanted, ruled_out)


def test_channel_in_text_is_the_wanted_channel():
    assert channel_in_text("helst chat, ikke telefon") == "chat"


def test_any_eight_digit_norwegian_number_is_taken():
    assert norwegian_phone("400 00 217") == "+47 40 00 02 17"
    assert norwegian_phone("12345678") is None


@pytest.mark.parametrize(
    "text, day",
    [
        ("tirsdag ettermiddag", 19),  # Tuesday afternoon is over on a Tuesday evening: next week
        ("tirsdag", 19),
        ("onsdag formiddag", 13),
        ("i morgen", 13),
    ],
)
def test_a_weekday_is_the_next_one_still_ahead(text, day):
    assert parse_wish(text, TUESDAY_EVENING).start.day == day


def test_ordinal_choices():
    offered = ["a", "b", "c"]
    assert ordinal_choice("den første", offered) == "a"
    assert ordinal_choice("nr 2", offered) == "b"
    assert ordinal_choice("den siste du foreslo", offered) == "c"
    assert ordinal_choice("ta den fyrste på torsdag", offered) == "a"
    assert ordinal_choice("passer fint", offered) is None
    assert ordinal_choice("ok ta den foerste tida", offered) == "a"


def test_a_position_in_the_list_is_no_time_but_a_day_beside_it_is():
    assert not parse_wish(without_ordinals("andre tid. nr 2"), TUESDAY_EVENING).understood
    assert parse_wish(without_ordinals("den første på torsdag"), TUESDAY_EVENING).understood


def test_a_contact_time_that_narrows_the_one_given_replaces_it():
    from actions.contact_time import parse_contact_time
    from actions.risk_check import narrows

    weekend = parse_contact_time("i helga", TUESDAY_EVENING).encode()
    saturday_evening = parse_contact_time("laurdag kveld", TUESDAY_EVENING).encode()
    assert narrows(saturday_evening, weekend)
    assert not narrows(weekend, saturday_evening)
    assert not narrows(parse_contact_time("for tre uker siden", TUESDAY_EVENING).encode(), weekend)


@pytest.fixture(scope="module")
def follow_ups():
    config = FollowUpDetector.get_default_config()
    config["follow_ups_file"] = str(ROOT / "content" / "follow_ups.yml")
    return FollowUpDetector(config)


@pytest.mark.parametrize(
    "text, kind",
    [
        ("hvor får jeg det?", "where"),
        ("kvar får eg det?", "where"),
        ("hva med hiv?", "what_about"),
        ("er det farlig?", "dangerous"),
        ("hvor lenge varer det da?", "how_long"),
        ("Kostar det noko?", "cost"),
        ("jeg vil ikke anmelde", "not_report"),
        ("har jeg gjort noe ulovlig da? jeg tok jo imot pengene", "illegal_me"),
        ("kan noen ringe meg i dag?", "call_today"),
        ("vet ikke", "hesitate"),
        ("er alt borte nå?", "deleted"),
        ("Is it free though?", "cost"),
        ("price?", "cost"),
        ("How many hours do I have left for that?", "how_long"),
        # a question that names its own topic is not a follow-up
        ("hvor får jeg PEP?", ""),
        ("hva koster det å teste seg for klamydia", ""),
        ("hei", ""),
    ],
)
def test_follow_up_questions_are_recognised(follow_ups, text, kind):
    assert follow_ups.kind_of(text) == kind


def test_hours_text_is_written_from_the_schedule():
    plan = Schedule.from_config(yaml.safe_load((ROOT / "content" / "booking.yml").read_text(encoding="utf-8")))
    text = describe_week(plan.weekly_for("chat"), "nb")
    assert text.startswith("mandag–onsdag kl. 10–12 og 13–16")
    assert "fredag" not in text  # no chat on Fridays in the schedule
    assert describe_week(plan.weekly_for("phone"), "en").startswith("Monday–Wednesday 09:00–12:00")


def test_public_holidays_are_closed_days():
    plan = Schedule.from_config(yaml.safe_load((ROOT / "content" / "booking.yml").read_text(encoding="utf-8")))
    assert plan.is_closed(date(2027, 5, 6))  # Ascension Day 2027, from the holidays library
    assert plan.is_closed(date(2026, 12, 24))  # the service's own closed day
    assert not plan.is_closed(date(2027, 1, 12))
    assert list(plan.slots_on(date(2027, 5, 6))) == []
