"""Working days (French public holidays) and office hours."""

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PARIS = ZoneInfo("Europe/Paris")


@lru_cache(maxsize=16)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.France(years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: datetime, days: int) -> datetime:
    """The same local time, ``days`` working days later."""
    local = start.astimezone(PARIS)
    day = local.date()
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return datetime.combine(day, local.time(), tzinfo=PARIS)


def is_office_time(office_hours: dict, at: datetime) -> bool:
    """True within the organisation's office hours, never on a public holiday."""
    local = at.astimezone(PARIS)
    if local.date() in _holidays(local.year):
        return False
    now = local.time()
    for start, end in office_hours.get(str(local.weekday()), []):
        if time.fromisoformat(start) <= now < time.fromisoformat(end):
            return True
    return False
