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
    0: ("mandag", "mandagen", "mandan", "maandag", "mondag", "monday"),  # not "man": "kan man booke"
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
# The text is normalised, so "11.30" and "13:00" arrive as "11 30" and "13 00".
MINUTES = r"(?:[ ]([0-5]\d))?"
CLOCK_WORDS = {w: n for w, n in NUMBER_WORDS.items() if " " not in w and w not in ("a", "an", "noen", "nokre", "nokon")}
HOUR = r"(\d{1,2}|" + "|".join(sorted(CLOCK_WORDS, key=len, reverse=True)) + ")"
AFTER = re.compile(rf"\b(etter|fra|after|from)\s+(kl|klokka|klokken)?\s*{HOUR}{MINUTES}\s*(pm|am)?\b")
BEFORE = re.compile(rf"\b(for|innen|before|by)\s+(kl|klokka|klokken)?\s*{HOUR}{MINUTES}\s*(pm|am)?\b")
DAY_NAMES = "|".join(sorted({name for names in WEEKDAYS.values() for name in names}, key=len, reverse=True))
MONTHS = r"jan\w*|feb\w*|mar\w*|apr\w*|mai|may|jun\w*|jul\w*|aug\w*|sep\w*|okt\w*|oct\w*|nov\w*|des\w*|dec\w*"
AT = (  # each: hour, minutes, am/pm
    re.compile(rf"\b(?:kl|klokka|klokken|klokka er|at|around|ca|rundt|omkring|vid|ved)\s*{HOUR}{MINUTES}\s*(pm|am)?\b"),
    re.compile(r"\b(\d{1,2})" + MINUTES + r"\s*(pm|am)\b"),  # "3pm", "3 30 pm"
    re.compile(rf"\b{HOUR}\s*(?:tiden|tida|tia)()()\b"),  # "ett-tiden", "tolvtida"
    re.compile(r"\b(0?[7-9]|1\d|2[0-2])[ ]?(00|15|30|45)()\b"),  # "11.30", "1300" (not dates: 05.01)
    # "thursday 10", "mandag 10 funker" (not "mandag 10. januar": a date)
    re.compile(rf"\b(?:{DAY_NAMES})\s+(0?[7-9]|1\d|2[0-2])()()\b(?!\s*(?:{MONTHS}|\d))"),
    # "11 o'clock", "tuesday lunch 12", "formiddag 10"
    re.compile(r"\b(\d{1,2})\s*o\s*clock()()\b"),
    re.compile(r"\b(?:lunsj\w*|lunch\w*|formiddag\w*|morning|ettermiddag\w*|afternoon)\s+(0?[7-9]|1\d|2[0-2])()()\b"),
    # "monday then, after our standup. 11?", "kanskje 12": an hour that ends the message
    re.compile(r"\b(0?[7-9]|1\d|2[0-2])()()$"),  # (not "jobber til 16": NOT_AN_HOUR)
)
# "halv tre" is 14:30 (half an hour before three)
HALF = re.compile(rf"\bhalv\s+{HOUR}\b")
# A short answer that is only an hour ("12?", "around lunch, 12?"), asked when to meet.
LONE_HOUR = re.compile(rf"^(?:[a-z]+ ){{0,3}}(0?[7-9]|1\d|2[0-2])(?: (?!(?:{MONTHS})$)[a-z]+)?$")
NOT_AN_HOUR = re.compile(
    r"\b(er|ar|aar|years?|old|age|alder|gammel|timer?|hours?|dager?|days?|kr|nok|"
    r"til|until|till|ferdig|finish|finishes|slutter)\b"  # "jobber til 16": a limit, not a wish
)
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
    at: Optional[time] = None  # a clock time the user named ("mandag kl 11"): a choice, not a range
    part_named: bool = False  # a part of the day or a limit was named too ("evening, after 18:00")


def _hour(hours: str, minutes: Optional[str], meridiem: Optional[str]) -> Optional[time]:
    hour = int(hours) if hours.isdigit() else CLOCK_WORDS[hours]
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
    named = _named_weekdays(text)
    if not named:
        return None
    days = []
    for weekday in named:
        ahead = (weekday - today.weekday()) % 7
        if ahead == 0 and (re.search(r"\b(neste|next)\b", text) or now_time >= (part_end or LATE_IN_THE_DAY)):
            ahead = 7
        days.append(today + timedelta(days=ahead))
    if len(days) > 1 and EITHER.search(text):  # "tirsdag eller onsdag": both
        return min(days), max(days)
    return days[-1], days[-1]  # "tysdag har eg bridge … onsdag heller": the last one named


EITHER = re.compile(r"\b(eller|or|el)\b")


def _named_weekdays(text: str) -> list:
    """The weekdays a text names, in the order it names them."""
    found = []
    for weekday, names in WEEKDAYS.items():
        for name in names:
            found += [(match.start(), weekday) for match in re.finditer(rf"\b{name}\b", text)]
    return [weekday for _, weekday in sorted(found)]


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


def _around(text: str, match: "re.Match") -> str:
    """The words just before and after a bare number ("jeg er 17", "16 timer")."""
    return text[max(0, match.start() - 12) : match.end() + 8]


def _clock_time(text: str, after_position: int = 0) -> Optional[time]:
    """The clock time a (normalised) text names, if any; of several, the last one named
    ("kl 14.30? nei forresten, kl 12 da": a correction comes last). Only times named after
    `after_position` count (a limit such as "ikke før 12" ends there)."""
    found = [match for pattern in AT for match in pattern.finditer(text) if match.start() >= after_position]
    half = [match for match in HALF.finditer(text) if match.start() >= after_position]
    if half and (not found or half[-1].start() >= max(m.start() for m in found)):
        whole = _hour(half[-1].group(1), None, None)
        return None if whole is None or whole.hour == 0 else time(whole.hour - 1, 30)
    if found:
        last = max(found, key=lambda match: match.start())
        if last.re.pattern.startswith(r"\b(?:kl") or not NOT_AN_HOUR.search(_around(text, last)):
            hours, minutes, meridiem = last.groups()
            return _hour(hours, minutes or None, meridiem or None)
    lone = LONE_HOUR.match(text)
    if lone and not NOT_AN_HOUR.search(text) and after_position == 0:
        return _hour(lone.group(1), None, None)
    return None


def parse_wish(raw: str, now: datetime) -> Wish:
    """Reads a wish for an appointment time; `now` must be aware (local time zone)."""
    zone = now.tzinfo
    normalised = normalise(raw)
    not_morning, not_evening = NEGATED_MORNING.search(normalised), NEGATED_EVENING.search(normalised)
    text = NEGATED_DAY.sub(" ", normalised)
    if ASAP.search(text):
        return Wish(now, None)

    earliest, latest = time(0, 0), None
    part_named = bool(not_morning or not_evening)
    for pattern, part in DAY_PART_WORDS:
        if re.search(pattern, text):
            part_named = True
            first, last = DAY_PARTS[part]
            earliest, latest = time(first), time(last)
    if not_morning:
        earliest = max(earliest, time(DAY_PARTS["morning"][1]))
    if not_evening:
        latest = min(latest or time(23, 59), time(DAY_PARTS["evening"][0]))

    after, before = AFTER.search(text), BEFORE.search(text)
    # a time named after a limit wins ("ikke før 12 … fredag kl 13"); the limit's own "kl" does not count
    limit_end = max((match.end() for match in (after, before) if match), default=0)
    named = _clock_time(text, limit_end) if limit_end else _clock_time(text)
    if named and limit_end:
        after = before = None
    if named and named.hour < 12 and earliest >= time(12):  # "på kveldstid, 8-9 tida": 21:00
        named = time(named.hour + 12, named.minute)
    # "mandag kl 10" said on a Monday at 10:30: next Monday (the named time is gone today)
    days = _day_window(text, now.date(), now.time(), named or latest)
    if days is None:
        explicit = _explicit_date(raw, now)
        days = (explicit, explicit) if explicit else None
    if after:
        earliest = _hour(after.group(3), after.group(4), after.group(5)) or earliest
    if before:
        latest = _hour(before.group(3), before.group(4), before.group(5)) or latest
    exact = named
    if exact:
        earliest = exact
        latest = time(min(exact.hour + 1, 23), exact.minute)

    if days is None and earliest == time(0, 0) and latest is None:
        return Wish(now, None, understood=False)
    first_day, last_day = days or (now.date(), None)
    start = datetime.combine(first_day, earliest, zone)
    if last_day is None:  # a time of day with no day: the next such time, any day
        if latest is None:
            return Wish(max(start, now), None)
        return _daily_window(now, earliest, latest, exact, part_named)
    end = (
        datetime.combine(last_day, latest, zone)
        if latest
        else datetime.combine(last_day + timedelta(days=1), time(0), zone)
    )
    return Wish(max(start, now) if first_day == now.date() else start, end, at=exact, part_named=part_named)


def _daily_window(
    now: datetime, earliest: time, latest: time, exact: Optional[time] = None, part_named: bool = False
) -> Wish:
    """'ettermiddag' with no day: the nearest afternoon that is still ahead."""
    day = now.date()
    if now.time() >= latest:
        day += timedelta(days=1)
    start = datetime.combine(day, earliest, now.tzinfo)
    return Wish(max(start, now), datetime.combine(day, latest, now.tzinfo), at=exact, part_named=part_named)


NEAR_BEFORE, NEAR_AFTER = timedelta(hours=1), timedelta(hours=1)  # "kl 12" takes 11:15 when the day ends at 12


def named_moment(wish: Wish) -> Optional[datetime]:
    """The clock time the user named, on the wish's day."""
    return None if wish.at is None else datetime.combine(wish.start.date(), wish.at, wish.start.tzinfo)


def nearest_to(moment: datetime, slots) -> Optional[datetime]:
    """The slot closest to `moment`, if one starts within NEAR_BEFORE before it or NEAR_AFTER after."""
    near = [slot for slot in slots if -NEAR_BEFORE <= slot - moment < NEAR_AFTER]
    return min(near, key=lambda slot: abs(slot - moment), default=None)
