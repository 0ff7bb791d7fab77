"""When counsellors can be booked: weekly hours, slot length and exceptions from content/booking.yml.

Works in the service's local time zone (Europe/Oslo) so slots stay at 09:00 across daylight
saving changes; the storage layer stores UTC.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Dict, Iterator, List, Tuple
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Interval = Tuple[time, time]


def _parse_interval(text: str) -> Interval:
    start, end = (part.strip() for part in text.split("-"))
    return time.fromisoformat(start), time.fromisoformat(end)


@dataclass(frozen=True)
class Schedule:
    timezone: ZoneInfo
    slot_minutes: int
    counsellors_per_slot: int
    min_notice: timedelta
    horizon: timedelta
    phone_retention_days: int
    channels: Tuple[str, ...]
    weekly_hours: Dict[int, List[Interval]]
    closed_dates: frozenset = field(default_factory=frozenset)
    special_hours: Dict[date, List[Interval]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: dict) -> "Schedule":
        weekly = {WEEKDAYS.index(day): [_parse_interval(i) for i in (hours or [])]
                  for day, hours in (config.get("weekly_hours") or {}).items()}
        return cls(
            timezone=ZoneInfo(config.get("timezone", "Europe/Oslo")),
            slot_minutes=int(config["slot_minutes"]),
            counsellors_per_slot=int(config.get("counsellors_per_slot", 1)),
            min_notice=timedelta(minutes=int(config.get("min_notice_minutes", 0))),
            horizon=timedelta(days=int(config.get("horizon_days", 28))),
            phone_retention_days=int(config.get("phone_retention_days", 7)),
            channels=tuple(config.get("channels") or ("in_person", "phone", "chat")),
            weekly_hours=weekly,
            closed_dates=frozenset(date.fromisoformat(str(d)) for d in config.get("closed_dates") or []),
            special_hours={date.fromisoformat(str(d)): [_parse_interval(i) for i in hours or []]
                           for d, hours in (config.get("special_hours") or {}).items()},
        )

    @property
    def slot_length(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    def hours_on(self, day: date) -> List[Interval]:
        if day in self.closed_dates:
            return []
        if day in self.special_hours:
            return self.special_hours[day]
        return self.weekly_hours.get(day.weekday(), [])

    def slots_on(self, day: date) -> Iterator[datetime]:
        """Slot start times (aware, local time) on one day."""
        for start, end in self.hours_on(day):
            current = datetime.combine(day, start, self.timezone)
            closing = datetime.combine(day, end, self.timezone)
            while current + self.slot_length <= closing:
                yield current
                current += self.slot_length

    def slots_between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Slots starting within [start, end), respecting the minimum notice from `start`."""
        day = start.astimezone(self.timezone).date()
        last = end.astimezone(self.timezone).date()
        while day <= last:
            for slot in self.slots_on(day):
                if start <= slot < end:
                    yield slot
            day += timedelta(days=1)

    def bookable_slots(self, now: datetime, wish_start: datetime = None, wish_end: datetime = None) -> Iterator[datetime]:
        """Slots a user may book now: after the minimum notice, within the horizon and the wish."""
        earliest = now + self.min_notice
        start = max(earliest, wish_start) if wish_start else earliest
        end = min(now + self.horizon, wish_end) if wish_end else now + self.horizon
        return self.slots_between(start, end)

    def is_slot(self, moment: datetime) -> bool:
        local = moment.astimezone(self.timezone)
        return any(slot == local for slot in self.slots_on(local.date()))
