"""When counsellors can be booked: weekly hours (per channel where they differ), slot length and
exceptions from content/booking.yml; Norway's public holidays from the `holidays` library.

Works in the service's local time zone (Europe/Oslo) so slots stay at 09:00 across daylight
saving changes; the storage layer stores UTC.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Dict, Iterator, List, Optional, Tuple
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Interval = Tuple[time, time]
WeeklyHours = Dict[int, List[Interval]]


def _parse_interval(text: str) -> Interval:
    start, end = (part.strip() for part in text.split("-"))
    return time.fromisoformat(start), time.fromisoformat(end)


def _parse_week(config: Optional[dict]) -> WeeklyHours:
    return {WEEKDAYS.index(day): [_parse_interval(i) for i in (hours or [])] for day, hours in (config or {}).items()}


@lru_cache(maxsize=8)
def public_holidays(country: str, year: int) -> frozenset:
    return frozenset(holidays.country_holidays(country, years=[year]).keys())


@dataclass(frozen=True)
class Schedule:
    timezone: ZoneInfo
    slot_minutes: int
    counsellors_per_slot: int
    min_notice: timedelta
    horizon: timedelta
    channels: Tuple[str, ...]
    weekly_hours: WeeklyHours
    closed_dates: frozenset = field(default_factory=frozenset)
    special_hours: Dict[date, List[Interval]] = field(default_factory=dict)
    # A channel's own weekly hours, where they are narrower than the counsellors' (weekly_hours).
    channel_hours: Dict[str, WeeklyHours] = field(default_factory=dict)
    holiday_country: Optional[str] = None  # public holidays of this country are closed days

    @classmethod
    def from_config(cls, config: dict) -> "Schedule":
        return cls(
            timezone=ZoneInfo(config.get("timezone", "Europe/Oslo")),
            slot_minutes=int(config["slot_minutes"]),
            counsellors_per_slot=int(config.get("counsellors_per_slot", 1)),
            min_notice=timedelta(minutes=int(config.get("min_notice_minutes", 0))),
            horizon=timedelta(days=int(config.get("horizon_days", 28))),
            channels=tuple(config.get("channels") or ("in_person", "phone", "chat")),
            weekly_hours=_parse_week(config.get("weekly_hours")),
            closed_dates=frozenset(date.fromisoformat(str(d)) for d in config.get("closed_dates") or []),
            special_hours={
                date.fromisoformat(str(d)): [_parse_interval(i) for i in hours or []]
                for d, hours in (config.get("special_hours") or {}).items()
            },
            channel_hours={channel: _parse_week(week) for channel, week in (config.get("channel_hours") or {}).items()},
            holiday_country=config.get("public_holidays"),
        )

    @property
    def slot_length(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    def is_closed(self, day: date) -> bool:
        if day in self.closed_dates:
            return True
        return bool(self.holiday_country) and day in public_holidays(self.holiday_country, day.year)

    def weekly_for(self, channel: Optional[str] = None) -> WeeklyHours:
        """The usual weekly hours of a channel (all channels: the counsellors' hours)."""
        if channel not in self.channel_hours:
            return self.weekly_hours
        return {
            day: _intersect(hours, self.channel_hours[channel].get(day, [])) for day, hours in self.weekly_hours.items()
        }

    def hours_on(self, day: date, channel: Optional[str] = None) -> List[Interval]:
        if self.is_closed(day):
            return []
        hours = self.special_hours.get(day, self.weekly_hours.get(day.weekday(), []))
        if channel in self.channel_hours:
            hours = _intersect(hours, self.channel_hours[channel].get(day.weekday(), []))
        return hours

    def slots_on(self, day: date, channel: Optional[str] = None) -> Iterator[datetime]:
        """Slot start times (aware, local time) on one day."""
        for start, end in self.hours_on(day, channel):
            current = datetime.combine(day, start, self.timezone)
            closing = datetime.combine(day, end, self.timezone)
            while current + self.slot_length <= closing:
                yield current
                current += self.slot_length

    def slots_between(self, start: datetime, end: datetime, channel: Optional[str] = None) -> Iterator[datetime]:
        """Slots starting within [start, end), respecting the minimum notice from `start`."""
        day = start.astimezone(self.timezone).date()
        last = end.astimezone(self.timezone).date()
        while day <= last:
            for slot in self.slots_on(day, channel):
                if start <= slot < end:
                    yield slot
            day += timedelta(days=1)

    def bookable_slots(
        self,
        now: datetime,
        wish_start: Optional[datetime] = None,
        wish_end: Optional[datetime] = None,
        channel: Optional[str] = None,
    ) -> Iterator[datetime]:
        """Slots a user may book now: after the minimum notice, within the horizon and the wish."""
        earliest = now + self.min_notice
        start = max(earliest, wish_start) if wish_start else earliest
        end = min(now + self.horizon, wish_end) if wish_end else now + self.horizon
        return self.slots_between(start, end, channel)

    def is_open(self, moment: datetime, channel: Optional[str] = None) -> bool:
        """Whether the channel is staffed at `moment` (the live chat: channel "chat")."""
        local = moment.astimezone(self.timezone)
        return any(start <= local.time() < end for start, end in self.hours_on(local.date(), channel))

    def next_opening(self, moment: datetime, channel: Optional[str] = None, days: int = 28) -> Optional[datetime]:
        """When the channel opens next after `moment` (aware, local time); None within `days`."""
        local = moment.astimezone(self.timezone)
        for offset in range(days + 1):
            day = local.date() + timedelta(days=offset)
            for start, _end in self.hours_on(day, channel):
                opening = datetime.combine(day, start, self.timezone)
                if opening > local:
                    return opening
        return None

    def is_slot(self, moment: datetime, channel: Optional[str] = None) -> bool:
        local = moment.astimezone(self.timezone)
        return any(slot == local for slot in self.slots_on(local.date(), channel))


def _intersect(first: List[Interval], second: List[Interval]) -> List[Interval]:
    """The times that lie in both lists of intervals."""
    common = []
    for a_start, a_end in first:
        for b_start, b_end in second:
            start, end = max(a_start, b_start), min(a_end, b_end)
            if start < end:
                common.append((start, end))
    return sorted(common)
