"""Dates and times written the way people read them, in Norwegian or English."""

from datetime import date, datetime
from typing import Optional

WEEKDAY_NAMES = {
    "nb": ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
MONTH_NAMES = {
    "nb": [
        "januar",
        "februar",
        "mars",
        "april",
        "mai",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "desember",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}


def format_date(day: date, language: str, today: Optional[date] = None) -> str:
    """ "fredag 11. desember" / "Friday 11 December"; the year only when it is not this year's."""
    weekday = WEEKDAY_NAMES.get(language, WEEKDAY_NAMES["nb"])[day.weekday()]
    month = MONTH_NAMES.get(language, MONTH_NAMES["nb"])[day.month - 1]
    year = f" {day.year}" if today is not None and day.year != today.year else ""
    if language == "en":
        return f"{weekday} {day.day} {month}{year}"
    return f"{weekday} {day.day}. {month}{year}"


def format_time(moment: datetime, language: str) -> str:
    """ "tirsdag 1. desember kl. 10:00" / "Tuesday 1 December at 10:00" (in the moment's own zone)."""
    clock = f"{moment:%H:%M}"
    return f"{format_date(moment.date(), language)} {'at' if language == 'en' else 'kl.'} {clock}"


def _clock(moment, language: str) -> str:
    if language == "en":
        return f"{moment:%H:%M}"
    return f"{moment:%H}" if moment.minute == 0 else f"{moment:%H.%M}"


def describe_week(weekly, language: str) -> str:
    """Weekly hours as a sentence part: "mandag–onsdag kl. 09–12 og 13–16, torsdag kl. 12–19.30".

    `weekly` maps weekday numbers (0 = Monday) to lists of (start, end) times; days in a row with
    the same hours are written together.
    """
    names = WEEKDAY_NAMES.get(language, WEEKDAY_NAMES["nb"])
    joiner, prefix = (" and ", "") if language == "en" else (" og ", "kl. ")
    groups: list = []  # (first day, last day, intervals)
    for day in range(7):
        hours = weekly.get(day) or []
        if not hours:
            continue
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == hours:
            groups[-1] = (groups[-1][0], day, hours)
        else:
            groups.append((day, day, hours))
    parts = []
    for first, last, hours in groups:
        days = names[first] if first == last else f"{names[first]}–{names[last]}"
        times = joiner.join(f"{_clock(start, language)}–{_clock(end, language)}" for start, end in hours)
        parts.append(f"{days} {prefix}{times}")
    return ", ".join(parts)
