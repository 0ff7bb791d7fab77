"""Dates and times written the way people read them, in Norwegian or English."""
from datetime import date, datetime

WEEKDAY_NAMES = {"nb": ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"],
                 "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]}
MONTH_NAMES = {"nb": ["januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september",
                      "oktober", "november", "desember"],
               "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                      "October", "November", "December"]}


def format_date(day: date, language: str, today: date = None) -> str:
    """"fredag 11. desember" / "Friday 11 December"; the year only when it is not this year's."""
    weekday = WEEKDAY_NAMES.get(language, WEEKDAY_NAMES["nb"])[day.weekday()]
    month = MONTH_NAMES.get(language, MONTH_NAMES["nb"])[day.month - 1]
    year = f" {day.year}" if today is not None and day.year != today.year else ""
    if language == "en":
        return f"{weekday} {day.day} {month}{year}"
    return f"{weekday} {day.day}. {month}{year}"


def format_time(moment: datetime, language: str) -> str:
    """"tirsdag 1. desember kl. 10:00" / "Tuesday 1 December at 10:00" (in the moment's own zone)."""
    clock = f"{moment:%H:%M}"
    return f"{format_date(moment.date(), language)} {'at' if language == 'en' else 'kl.'} {clock}"
