"""When a sexual contact happened, from a user's own words: "i går kveld", "lørdag",
"for tre uker siden", "for 30 timer siden", "12. november", "last night".

The answer is a window (earliest, latest), because people rarely give a time: the risk check
counts hours left for PEP from the earliest moment (never promising time that may be gone) and
test dates from the latest (never a test date that may be too early).
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Optional

import dateparser

from actions.number_words import NUMBER_WORDS
from core.text_normalise import normalise

UNITS = {  # unit word (normalised) -> (hours per unit, half-width of the window in hours)
    "time": (1, 0),
    "timer": (1, 0),
    "timar": (1, 0),
    "t": (1, 0),
    "hour": (1, 0),
    "hours": (1, 0),
    "dag": (24, 12),
    "dager": (24, 12),
    "dagar": (24, 12),
    "dogn": (24, 12),
    "day": (24, 12),
    "days": (24, 12),
    "uke": (168, 84),
    "uker": (168, 84),
    "veke": (168, 84),
    "veker": (168, 84),
    "veka": (168, 84),
    "week": (168, 84),
    "weeks": (168, 84),
    "maned": (720, 360),
    "maneder": (720, 360),
    "mnd": (720, 360),
    "month": (720, 360),
    "months": (720, 360),
}
WEEKDAYS = {
    "mandag": 0,
    "mandagen": 0,
    "maandag": 0,
    "monday": 0,
    "tirsdag": 1,
    "tysdag": 1,
    "tuesday": 1,
    "onsdag": 2,
    "wednesday": 2,
    "torsdag": 3,
    "thursday": 3,
    "fredag": 4,
    "friday": 4,
    "lordag": 5,
    "laurdag": 5,
    "saturday": 5,
    "sondag": 6,
    "sundag": 6,
    "sunday": 6,
}
PARTS_OF_DAY = {  # normalised word -> (start hour, end hour) of that day; natt reaches into the next morning
    "morges": (5, 11),
    "morgen": (5, 11),
    "morning": (5, 11),
    "formiddag": (9, 12),
    "formiddagen": (9, 12),
    "ettermiddag": (12, 18),
    "ettermiddagen": (12, 18),
    "afternoon": (12, 18),
    "kveld": (18, 24),
    "kvelden": (18, 24),
    "kveldinga": (18, 24),
    "evening": (18, 24),
    "natt": (22, 30),
    "natta": (22, 30),
    "natten": (22, 30),
    "night": (22, 30),
}
UNKNOWN = (
    "vet ikke",
    "veit ikke",
    "veit ikkje",
    "veit ikkje",
    "husker ikke",
    "hugsar ikkje",
    "usikker",
    "aner ikke",
    "dont know",
    "don t know",
    "not sure",
    "no idea",
    "cant remember",
    "can t remember",
)
FUTURE = ("i morgen", "imorgen", "i overmorgen", "tomorrow", "neste uke", "next week")
AGO = r"(?:siden|sidan|ago|tilbake)"
FUTURE_SLIP = timedelta(days=60)


@dataclass(frozen=True)
class ContactTime:
    """A window in which the contact happened; `unknown` when the user does not know."""

    earliest: Optional[datetime] = None
    latest: Optional[datetime] = None
    unknown: bool = False
    future: bool = False

    @property
    def understood(self) -> bool:
        return self.unknown or self.earliest is not None

    def encode(self) -> str:
        """The slot value: "earliest|latest" in ISO form, or "unknown"."""
        return "unknown" if self.unknown else f"{self.earliest.isoformat()}|{self.latest.isoformat()}"

    @staticmethod
    def is_encoded(value: object) -> bool:
        """True for a slot value encode() could have written (a payload may hold anything)."""
        if not isinstance(value, str) or value.count("|") != 1:
            return False
        try:
            window = ContactTime.decode(value)
        except ValueError:
            return False
        return window.earliest.tzinfo is not None and window.latest.tzinfo is not None

    @staticmethod
    def decode(value: Optional[str]) -> "ContactTime":
        if not value or value == "unknown":
            return ContactTime(unknown=True)
        first, _, second = value.partition("|")
        return ContactTime(datetime.fromisoformat(first), datetime.fromisoformat(second))


def _day(moment: datetime, start_hour: float = 0, end_hour: float = 24) -> ContactTime:
    midnight = datetime.combine(moment.date(), time(0), tzinfo=moment.tzinfo)
    return ContactTime(
        midnight + timedelta(hours=start_hour), midnight + timedelta(hours=end_hour) - timedelta(minutes=1)
    )


def _clamp(window: ContactTime, now: datetime) -> ContactTime:
    """A window cannot reach into the future ("i kveld" asked at 20:00 ends now)."""
    if window.earliest > now:
        return ContactTime(future=True)
    return ContactTime(window.earliest, min(window.latest, now))


CLOCK = re.compile(r"\b(?:kl|klokka|klokken|at)\s*(\d{1,2})(?:\s*(\d{2}))?\b")
# "rundt 23", "ca kl 22", "ved 23-tiden": an hour either side
ABOUT_CLOCK = re.compile(
    r"\b(?:rundt|ca|cirka|omkring|around|about|ved|vid)\s*(?:kl\s*)?(\d{1,2})(?:\s*(\d{2}))?\b"
    r"|\b(\d{1,2})\s*(?:tiden|tida|tia)\b"
)


def _part_of_day(text: str):
    """(start hour, end hour) from "kl 22", "rundt 23" or "kveld", or None."""
    about = ABOUT_CLOCK.search(text)
    if about:
        hour = int(about.group(1) or about.group(3)) + int(about.group(2) or 0) / 60
        if hour < 24:
            return max(hour - 1, 0), min(hour + 1, 24)
    clock = CLOCK.search(text)
    if clock and int(clock.group(1)) < 24:
        hour = int(clock.group(1)) + int(clock.group(2) or 0) / 60
        return hour, hour + 1
    return next((hours for word, hours in PARTS_OF_DAY.items() if re.search(rf"\b{word}\b", text)), None)


def _number(text: str) -> Optional[int]:
    if text.isdigit():
        return int(text)
    return NUMBER_WORDS.get(text)


_NUMBERS = "|".join(sorted((re.escape(word) for word in NUMBER_WORDS), key=len, reverse=True))
_UNITS = "|".join(sorted(UNITS, key=len, reverse=True))
AGO_PATTERN = re.compile(rf"\b(?P<for>for\s+)?(?P<number>\d+|{_NUMBERS})\s+(?P<unit>{_UNITS})\b(?P<ago>\s+{AGO})?")


def _ago(text: str, now: datetime) -> Optional[ContactTime]:
    """ "for tre uker siden", "30 timer siden", "2 days ago"."""
    match = next((m for m in AGO_PATTERN.finditer(text) if m.group("for") or m.group("ago")), None)
    if match is None:
        return None
    number = int(match.group("number")) if match.group("number").isdigit() else NUMBER_WORDS[match.group("number")]
    hours, half_width = UNITS[match.group("unit")]
    centre = now - timedelta(hours=number * hours)
    if hours == 24:  # "for tre dager siden": that calendar day
        return _clamp(_day(centre), now)
    return _clamp(ContactTime(centre - timedelta(hours=half_width), centre + timedelta(hours=half_width)), now)


def _relative_day(text: str, now: datetime) -> Optional[ContactTime]:
    if re.search(r"\b(i forgars|iforgars|i fyrregars|day before yesterday)\b", text):
        day = now - timedelta(days=2)
    elif re.search(r"\b(i gar|igar|yesterday|last night)\b", text):
        day = now - timedelta(days=1)
        if "last night" in text:
            return _clamp(_day(day, *PARTS_OF_DAY["natt"]), now)
    elif re.search(
        r"\b(i dag|idag|today|tonight|i kveld|ikveld|i morges|imorges|i formiddag|i ettermiddag"
        r"|this morning|this evening|this afternoon)\b",
        text,
    ):
        day = now
    elif re.search(r"\b(i natt|inatt)\b", text):
        return _clamp(_day(now - timedelta(days=1), *PARTS_OF_DAY["natt"]), now)
    else:
        return None
    part = _part_of_day(text)
    return _clamp(_day(day, *part) if part else _day(day), now)


def _weekday(text: str, now: datetime) -> Optional[ContactTime]:
    found = next((day for word, day in WEEKDAYS.items() if re.search(rf"\b{word}\b", text)), None)
    if found is None:
        return None
    back = (now.weekday() - found) % 7 or 7  # the most recent one before today
    part = _part_of_day(text)
    day = now - timedelta(days=back)
    return _clamp(_day(day, *part) if part else _day(day), now)


def _weekend_or_week(text: str, now: datetime) -> Optional[ContactTime]:
    if re.search(r"\b(i helgen|i helga|i helgi|this weekend|last weekend|forrige helg|sist helg)\b", text):
        days_since_saturday = (now.weekday() - 5) % 7
        if now.weekday() in (5, 6) and re.search(r"\b(forrige|sist|last)\b", text):
            days_since_saturday += 7
        saturday = now - timedelta(days=days_since_saturday)
        return _clamp(
            ContactTime(_day(saturday - timedelta(days=1), 18, 24).earliest, _day(saturday + timedelta(days=1)).latest),
            now,
        )
    if re.search(r"\b(forrige uke|forrige veke|sist veke|last week)\b", text):
        monday = now - timedelta(days=now.weekday() + 7)
        return ContactTime(_day(monday).earliest, _day(monday + timedelta(days=6)).latest)
    return None


def _date(original: str, now: datetime) -> Optional[ContactTime]:
    """ "12. november", "12.11": this year's date; a date a little ahead is taken as a day to come
    (asked about the past, that is a slip worth asking about), one far ahead as last year's."""
    if not re.search(r"\d{1,2}\s*[./]\s*\d{1,2}|\d{1,2}\.?\s+[a-zæøå]{3,}", original.lower()):
        return None
    found = dateparser.parse(
        original,
        languages=["nb", "en"],
        settings={"DATE_ORDER": "DMY", "RELATIVE_BASE": now.replace(tzinfo=None), "REQUIRE_PARTS": ["day", "month"]},
    )
    if found is None:
        return None
    window = _day(found.replace(tzinfo=now.tzinfo))
    if window.earliest > now:
        if window.earliest - now <= FUTURE_SLIP or re.search(r"\b20\d\d\b", original):
            return ContactTime(future=True)
        window = _day(window.earliest.replace(year=window.earliest.year - 1))
    return ContactTime(window.earliest, min(window.latest, now))


# Words that put a time in the past: "i går" is never ahead, while "tirsdag" or "i kveld" may be
# a contact or a wish for an appointment.
PAST = re.compile(
    r"\b(i gar|igar|i natt|inatt|i forgars|i morges|i dag tidlig|tidligere i dag|siden|forrige|sist|sista|"
    r"yesterday|last night|last week|last weekend|ago|earlier today|i fjor|i helga som var)\b"
)


def told_as_past(text: str) -> bool:
    return PAST.search(normalise(text)) is not None


def parse_contact_time(text: str, now: datetime) -> ContactTime:
    """The window of the contact described in `text` (now: timezone-aware, Europe/Oslo)."""
    normalised = normalise(text)
    if any(phrase in normalised for phrase in UNKNOWN):
        return ContactTime(unknown=True)
    if any(re.search(rf"\b{phrase}\b", normalised) for phrase in FUTURE):
        return ContactTime(future=True)
    for reader in (_ago, _relative_day, _weekend_or_week, _weekday):
        window = reader(normalised, now)
        if window is not None:
            return window
    return _date(text, now) or ContactTime()
