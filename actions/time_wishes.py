"""Understands when a user wants an appointment: "i morgen", "tirsdag ettermiddag", "neste uke",
"etter kl 17", "så fort som mulig", in Bokmål, nynorsk and English.

The result is a window (start, end) in the service's time zone that the availability search
looks in. Relative days, weekdays, parts of the day and "after/before" times are handled here;
explicit dates ("5. januar", "05.01", "tomorrow at 3pm") are left to dateparser, which knows
Norwegian month names and formats.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Optional, Tuple

import dateparser

from actions.number_words import NUMBER_WORDS
from core.text_normalise import normalise

WEEKDAYS = {
    0: ("mandag", "mandagen", "mandan", "maandag", "mondag", "monday", "man"),
    1: ("tirsdag", "tirsdagen", "tysdag", "tisdag", "tuesday", "tirs"),
    2: ("onsdag", "onsdagen", "wednesday", "ons"),
    3: ("torsdag", "torsdagen", "thursday", "tors"),
    4: ("fredag", "fredagen", "friday", "fre"),
    5: ("lordag", "lordagen", "laurdag", "saturday"),
    6: ("sondag", "sondagen", "sundag", "sunday"),
}
DAY_PARTS = {  # local hours [start, end)
    "morning": (8, 12),
    "lunch": (11, 13),
    "after_lunch": (12, 17),
    "afternoon": (12, 17),
    "evening": (17, 22),
}
DAY_PART_WORDS = (
    (r"\b(formiddag\w*|om morgenen|morgenen|tidlig|in the morning|morning)\b", "morning"),
    (r"\b(lunsj\w*|lunch\w*)\b", "lunch"),
    (r"\b(etter|after) (lunsj\w*|lunch\w*)\b", "after_lunch"),
    (r"\b(ettermiddag\w*|ettermidda\w*|afternoon)\b", "afternoon"),
    (r"\b(kveld\w*|kvell\w*|evening|tonight|etter jobb\w*|after work)\b", "evening"),
)
ASAP = re.compile(
    r"\b(sa fort som mulig|sa snart som mulig|sa tidlig som mulig|sa fort som mogleg|sa snart som mogleg|"
    r"sa tidleg som mogleg|fortast mogleg|snarast|snarast mogleg|fortest mulig|snarest|med en gang|asap|"
    r"as soon as possible|forste ledige|nermaste ledige|naermeste ledige|forste mulige|"
    r"earliest|kva som helst|hva som helst|nar som helst|anytime|any time)\b"
)
AFTER = re.compile(r"\b(etter|fra|after|from)\s+(kl|klokka|klokken)?\s*(\d{1,2})(?:[:.](\d{2}))?\s*(pm|am)?\b")
BEFORE = re.compile(r"\b(for|innen|before|by)\s+(kl|klokka|klokken)?\s*(\d{1,2})(?:[:.](\d{2}))?\s*(pm|am)?\b")
AT = re.compile(r"\b(kl|klokka|klokken|at)\s*(\d{1,2})(?:[:.](\d{2}))?\s*(pm|am)?\b|\b(\d{1,2})[:.](\d{2})\b")
IN_DAYS = re.compile(
    r"\b(om|in)\s+(\d+|en|ein|ett|eitt|to|tre|fire|fem|seks|sju|syv|one|two|three|four|five)\s+"
    r"(dag|dager|dagar|days?)\b"
)


@dataclass(frozen=True)
class Wish:
    """A time window [start, end); `end` None means "from start on". `understood` False: no wish found."""

    start: datetime
    end: Optional[datetime]
    understood: bool = True


def _hour(hours: str, minutes: Optional[str], meridiem: Optional[str]) -> Optional[time]:
    hour = int(hours)
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem is None and 1 <= hour <= 7:
        hour += 12  # "etter 5" at a counselling service means 17:00
    if hour > 23:
        return None
    return time(hour, int(minutes or 0))


LATE_IN_THE_DAY = time(17, 0)  # a weekday named without a part of the day: today only before this


def _day_window(
    text: str, today: date, now_time: time = time(0, 0), part_end: Optional[time] = None
) -> Optional[Tuple[date, date]]:
    """The days the user names, as [first, last] (inclusive). A weekday means the next such day
    whose asked-for part is still ahead ("tirsdag ettermiddag" on a Tuesday evening: next week)."""
    if re.search(r"\b(i overmorgen|overmorgen|i overimorgen)\b", text):
        day = today + timedelta(days=2)
        return day, day
    if re.search(r"\b(i morgen|imorgen|i morra|imorra|i morgo|imorgo|tomorrow)\b", text):
        day = today + timedelta(days=1)
        return day, day
    if re.search(r"\b(i dag|idag|today|tonight|i kveld|ikveld)\b", text):
        return today, today
    match = IN_DAYS.search(text)
    if match:
        count = match.group(2)
        day = today + timedelta(days=int(count) if count.isdigit() else NUMBER_WORDS[count])
        return day, day
    if re.search(r"\b(neste uke|neste veke|next week|uka etter|veka etter)\b", text):
        monday = today + timedelta(days=7 - today.weekday())
        return monday, monday + timedelta(days=6)
    if re.search(r"\b(denne uka|denne uken|denne veka|i uka|i veka|this week)\b", text):
        return today, today + timedelta(days=6 - today.weekday())
    if re.search(r"\b(helga|helgen|weekend)\b", text):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        return saturday, saturday + timedelta(days=1)
    for weekday, names in WEEKDAYS.items():
        if any(re.search(rf"\b{name}\b", text) for name in names):
            ahead = (weekday - today.weekday()) % 7
            if ahead == 0 and (re.search(r"\b(neste|next)\b", text) or now_time >= (part_end or LATE_IN_THE_DAY)):
                ahead = 7
            day = today + timedelta(days=ahead)
            return day, day
    return None


def _explicit_date(raw: str, now: datetime) -> Optional[date]:
    parsed = dateparser.parse(
        raw,
        languages=["nb", "nn", "en"],
        settings={
            "RELATIVE_BASE": now.replace(tzinfo=None),
            "PREFER_DATES_FROM": "future",
            "REQUIRE_PARTS": ["day", "month"],
        },
    )
    return parsed.date() if parsed else None


# "ikke onsdag", "ikkje i morgon", "not Wednesday": a day ruled out is no wish for that day.
# "ikke torsdag", "not Friday"; and a day taken back: "scratch Wednesday", "i stedet for onsdag"
NEGATED_DAY = re.compile(
    r"\b(ikke|ikkje|itj|inte|not|no|aldri|never|scratch|forget|drop|instead of|rather than|"
    r"i stedet for|istedenfor|istaden for|i staden for|heller enn)\s+(pa\s+|on\s+)?(i\s+)?\w+"
)


# "ikkje tidleg på dagen", "not in the evening": the rest of the day
NEGATED_MORNING = re.compile(
    r"\b(ikke|ikkje|itj|inte|not|no)\s+(sa\s+|so\s+|too\s+|for\s+)?(tidlig|tidleg|om morgenen|morgen\w*|"
    r"formiddag\w*|early|in the morning|morning)\b"
)
NEGATED_EVENING = re.compile(
    r"\b(ikke|ikkje|itj|inte|not|no)\s+(sa\s+|so\s+|too\s+|for\s+)?(sent|seint|pa kvelden|kveld\w*|late|"
    r"in the evening|evening)\b"
)


def ruled_out_days(raw: str) -> list:
    """Weekdays the user rules out ("ikke torsdag", "ikkje onsdag", "not Friday"), Monday = 0."""
    text = normalise(raw)
    found = []
    for match in NEGATED_DAY.finditer(text):
        said = match.group(0).split()[-1]
        found += [day for day, names in WEEKDAYS.items() if said in names]
    return sorted(set(found))


def parse_wish(raw: str, now: datetime) -> Wish:
    """Reads a wish for an appointment time; `now` must be aware (local time zone)."""
    zone = now.tzinfo
    normalised = normalise(raw)
    not_morning, not_evening = NEGATED_MORNING.search(normalised), NEGATED_EVENING.search(normalised)
    text = NEGATED_DAY.sub(" ", normalised)
    if ASAP.search(text):
        return Wish(now, None)

    earliest, latest = time(0, 0), None
    for pattern, part in DAY_PART_WORDS:
        if re.search(pattern, text):
            first, last = DAY_PARTS[part]
            earliest, latest = time(first), time(last)
    if not_morning:
        earliest = max(earliest, time(DAY_PARTS["morning"][1]))
    if not_evening:
        latest = min(latest or time(23, 59), time(DAY_PARTS["evening"][0]))

    days = _day_window(text, now.date(), now.time(), latest)
    if days is None:
        explicit = _explicit_date(raw, now)
        days = (explicit, explicit) if explicit else None
    after, before, at = AFTER.search(text), BEFORE.search(text), AT.search(text)
    if after:
        earliest = _hour(after.group(3), after.group(4), after.group(5)) or earliest
    if before:
        latest = _hour(before.group(3), before.group(4), before.group(5)) or latest
    if at and not after and not before:
        exact = _hour(at.group(2) or at.group(5), at.group(3) or at.group(6), at.group(4))
        if exact:
            earliest = exact
            latest = time(min(exact.hour + 1, 23), exact.minute)

    if days is None and earliest == time(0, 0) and latest is None:
        return Wish(now, None, understood=False)
    first_day, last_day = days or (now.date(), None)
    start = datetime.combine(first_day, earliest, zone)
    if last_day is None:  # a time of day with no day: the next such time, any day
        return Wish(max(start, now), None) if latest is None else _daily_window(now, earliest, latest)
    end = (
        datetime.combine(last_day, latest, zone)
        if latest
        else datetime.combine(last_day + timedelta(days=1), time(0), zone)
    )
    return Wish(max(start, now) if first_day == now.date() else start, end)


def _daily_window(now: datetime, earliest: time, latest: time) -> Wish:
    """'ettermiddag' with no day: the nearest afternoon that is still ahead."""
    day = now.date()
    if now.time() >= latest:
        day += timedelta(days=1)
    start = datetime.combine(day, earliest, now.tzinfo)
    return Wish(max(start, now), datetime.combine(day, latest, now.tzinfo))
