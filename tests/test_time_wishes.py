from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from actions.time_wishes import named_moment, nearest_to, parse_wish

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2027, 1, 4, 10, 30, tzinfo=OSLO)  # Monday 4 January 2027, 10:30


def window(text):
    wish = parse_wish(text, NOW)
    end = wish.end.strftime("%a %d %H:%M") if wish.end else None
    return wish.start.strftime("%a %d %H:%M"), end, wish.understood


@pytest.mark.parametrize(
    "text, expected",
    [
        ("i morgen", ("Tue 05 00:00", "Wed 06 00:00", True)),
        ("imorra", ("Tue 05 00:00", "Wed 06 00:00", True)),
        ("tomorrow please", ("Tue 05 00:00", "Wed 06 00:00", True)),
        ("i overmorgen", ("Wed 06 00:00", "Thu 07 00:00", True)),
        ("tirsdag ettermiddag", ("Tue 05 12:00", "Tue 05 17:00", True)),
        ("tysdag ettermiddag", ("Tue 05 12:00", "Tue 05 17:00", True)),
        ("torsdag etter lunsj kanskje", ("Thu 07 12:00", "Thu 07 17:00", True)),
        ("thursday after lunch", ("Thu 07 12:00", "Thu 07 17:00", True)),
        ("fredag i stedet for onsdag", ("Fri 08 00:00", "Sat 09 00:00", True)),
        ("scratch Wednesday, Friday instead", ("Fri 08 00:00", "Sat 09 00:00", True)),
        ("og ikkje tidleg på dagen heller", ("Mon 04 12:00", None, True)),
        ("fredag, men ikke for sent", ("Fri 08 00:00", "Fri 08 17:00", True)),
        ("torsdag etter kl 17", ("Thu 07 17:00", "Fri 08 00:00", True)),
        ("neste uke", ("Mon 11 00:00", "Mon 18 00:00", True)),
        ("next week in the evening", ("Mon 11 17:00", "Sun 17 22:00", True)),
        ("så fort som mulig", ("Mon 04 10:30", None, True)),
        ("saa fort som mulig", ("Mon 04 10:30", None, True)),
        ("første ledige time", ("Mon 04 10:30", None, True)),
        ("i dag", ("Mon 04 10:30", "Tue 05 00:00", True)),
        ("mandag", ("Mon 04 10:30", "Tue 05 00:00", True)),
        ("neste mandag", ("Mon 11 00:00", "Tue 12 00:00", True)),
        ("om tre dager", ("Thu 07 00:00", "Fri 08 00:00", True)),
        ("fredag kl 9", ("Fri 08 09:00", "Fri 08 10:00", True)),
        ("fredag før 11", ("Fri 08 00:00", "Fri 08 11:00", True)),
        ("etter 5", ("Mon 04 17:00", None, True)),
        ("på ettermiddagen", ("Mon 04 12:00", "Mon 04 17:00", True)),
        ("12. januar", ("Tue 12 00:00", "Wed 13 00:00", True)),
        # a correction names the last day or time; "eller" keeps both days
        ("tysdag har eg bridge på føremiddagen. onsdag klokka 11 heller", ("Wed 06 11:00", "Wed 06 12:00", True)),
        ("Kl 14.30? Nei forresten, da har jeg klasse. Kl 12 da", ("Mon 04 12:00", "Mon 04 13:00", True)),
        ("tirsdag eller onsdag", ("Tue 05 00:00", "Thu 07 00:00", True)),
        # an hour right after a weekday, or alone as the answer
        ("thursday 10", ("Thu 07 10:00", "Thu 07 11:00", True)),
        ("mandag 10 funker", ("Mon 11 10:00", "Mon 11 11:00", True)),
        ("around lunch, 12?", ("Mon 04 12:00", "Mon 04 13:00", True)),
        ("jeg er 17", ("Mon 04 10:30", None, False)),
        ("i jobber til 16", ("Mon 04 10:30", None, False)),  # a limit of the day, not a wish
        ("monday then, after our standup. 11?", ("Mon 04 11:00", "Mon 04 12:00", True)),
        ("tuesday lunch 12 is my break", ("Tue 05 12:00", "Tue 05 13:00", True)),
        ("tomorrow is my free day actually. 11 o'clock?", ("Tue 05 11:00", "Tue 05 12:00", True)),
        ("onsdag halv tre", ("Wed 06 14:30", "Wed 06 15:30", True)),
        # a time named after a limit wins over the limit
        ("ikke før 12. da sover jeg. men fredag har jeg fri. fredag kl 13", ("Fri 08 13:00", "Fri 08 14:00", True)),
        ("vet ikke helt", ("Mon 04 10:30", None, False)),
    ],
)
def test_wishes(text, expected):
    assert window(text) == expected


def test_evening_wish_late_in_the_day_moves_to_tomorrow():
    late = datetime(2027, 1, 4, 22, 30, tzinfo=OSLO)
    wish = parse_wish("kveld", late)
    assert (wish.start.day, wish.start.hour, wish.end.hour) == (5, 17, 22)


@pytest.mark.parametrize(
    "text, named",
    [
        ("tirsdag kl 11, da har jeg pause", "Tue 05 11:00"),
        ("thursday 11.30?", "Thu 07 11:30"),
        ("onsdag 13:00", "Wed 06 13:00"),
        ("mandag 1300 ellr no", "Mon 04 13:00"),
        ("tuesday, like 3pm? i have class till 2", "Tue 05 15:00"),
        ("tisdag kanske? vid ett-tiden", "Tue 05 13:00"),
        ("fredag klokka tolv om det går", "Fri 08 12:00"),
        ("tysdag klokka to", "Tue 05 14:00"),
    ],
)
def test_a_named_clock_time_is_read_as_typed(text, named):
    wish = parse_wish(text, NOW)
    assert named_moment(wish).strftime("%a %d %H:%M") == named


@pytest.mark.parametrize(
    "text", ["05.01", "i work 7 to 15 every day", "we live 4 men in one flat", "at a time that suits"]
)
def test_numbers_that_are_no_clock_time_name_none(text):
    assert named_moment(parse_wish(text, NOW)) is None


def test_the_slot_nearest_to_a_named_time_is_taken_within_an_hour_only():
    asked = datetime(2027, 1, 5, 11, 0, tzinfo=OSLO)
    slots = [datetime(2027, 1, 5, h, m, tzinfo=OSLO) for h, m in ((9, 45), (10, 30), (11, 15), (13, 0))]
    assert nearest_to(asked, slots) == slots[2]
    assert nearest_to(asked.replace(hour=15), slots) is None
    assert nearest_to(asked.replace(hour=12, minute=0), slots[:3]) == slots[2]  # the last slot before noon
