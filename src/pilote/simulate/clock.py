"""The rhythms of a community: hours of the day, days of the week, slow growth, delays before a reply.

Times are hours since the start of the window (floats); the window turns them into datetimes. The
hourly profiles are in UTC for a mostly French-speaking audience (Paris is UTC+1/+2): quiet at night,
a lunch bump and an evening peak on weekdays, later mornings at weekends.
"""

from __future__ import annotations

import math
from bisect import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from random import Random

# Relative activity for each hour of the day, 00:00 to 23:00 UTC.
WEEKDAY_HOURS: tuple[float, ...] = (
    *(0.25, 0.12, 0.06, 0.04, 0.05, 0.15, 0.45, 0.85, 1.0, 0.95, 0.95, 1.1),
    *(1.3, 1.15, 0.95, 0.95, 1.0, 1.15, 1.35, 1.5, 1.45, 1.2, 0.85, 0.5),
)
WEEKEND_HOURS: tuple[float, ...] = (
    *(0.4, 0.25, 0.12, 0.06, 0.05, 0.07, 0.15, 0.35, 0.65, 0.95, 1.15, 1.25),
    *(1.3, 1.2, 1.1, 1.1, 1.15, 1.2, 1.3, 1.35, 1.3, 1.1, 0.85, 0.6),
)
_CUMULATIVE = (list(accumulate(WEEKDAY_HOURS)), list(accumulate(WEEKEND_HOURS)))
PEAK = max(*WEEKDAY_HOURS, *WEEKEND_HOURS)
# Monday first: the forum is a weekday habit, social media a weekend one.
WEEKLY = {
    "forum": (1.05, 1.05, 1.0, 1.0, 0.95, 0.75, 0.7),
    "social": (1.0, 1.0, 1.0, 1.0, 0.95, 1.1, 1.15),
}
GROWTH = 0.25  # volume grows by a quarter over the window: newcomers outnumber those who leave
OFFICE = (7.0, 19.0)  # the brand's team answers on weekdays, 8:00 to 20:00 Paris time, and Saturday mornings
SATURDAY = (8.0, 11.0)


@dataclass(slots=True, frozen=True)
class Window:
    """The simulated period: `days` days ending at `end`."""

    start: datetime
    days: int

    @property
    def hours(self) -> float:
        """Length of the window in hours."""
        return self.days * 24.0

    def moment(self, at: float) -> datetime:
        """The datetime `at` hours after the start, to the second."""
        return self.start + timedelta(seconds=round(at * 3600))

    def offset(self, moment: datetime) -> float:
        """Hours from the start to `moment`."""
        return (moment - self.start).total_seconds() / 3600

    def hour_of_day(self, at: float) -> float:
        """The UTC hour of the day (0 to 24) at `at`."""
        return (self.start.hour + self.start.minute / 60 + at) % 24

    def weekday(self, at: float) -> int:
        """The day of the week at `at` (Monday is 0)."""
        offset = self.start.hour + self.start.minute / 60
        return (self.start.weekday() + math.floor((offset + at) / 24)) % 7

    def midnight(self, day: int) -> float:
        """Hours from the start to the beginning of the `day`-th calendar day (day 0 holds the start)."""
        return day * 24.0 - (self.start.hour + self.start.minute / 60)

    def contains(self, at: float) -> bool:
        """Whether `at` lies inside the window."""
        return 0.0 <= at < self.hours


def poisson(rng: Random, mean: float) -> int:
    """A Poisson count (Knuth's method; a normal approximation for large means)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def growth(window: Window, at: float) -> float:
    """The slow growth of activity over the window, 1.0 at the start."""
    return 1.0 + GROWTH * at / window.hours


def times_of_day(rng: Random, window: Window, day: int, count: int) -> list[float]:
    """`count` moments in calendar day `day`, following the hourly profile; those outside the window dropped."""
    midnight = window.midnight(day)
    weekend = window.weekday(max(midnight, 0.0)) >= 5
    cumulative = _CUMULATIVE[weekend]
    hours = (bisect(cumulative, rng.random() * cumulative[-1]) for _ in range(count))
    moments = (midnight + hour + rng.random() for hour in hours)
    return sorted(at for at in moments if window.contains(at))


def daily_times(rng: Random, window: Window, channel: str, per_day: float) -> list[float]:
    """Moments of a channel's spontaneous messages: a Poisson count per day, with weekly rhythm and growth."""
    moments: list[float] = []
    for day in range(window.days + 1):
        noon = window.midnight(day) + 12.0
        mean = per_day * WEEKLY[channel][window.weekday(noon)] * growth(window, noon)
        moments.extend(times_of_day(rng, window, day, poisson(rng, mean)))
    return moments


def awake(rng: Random, window: Window, at: float) -> float:
    """Move a moment that falls at night to the morning, as often as people are asleep then."""
    weekend = window.weekday(at) >= 5
    hour = int(window.hour_of_day(at))
    level = (WEEKEND_HOURS if weekend else WEEKDAY_HOURS)[hour]
    if rng.random() < level / PEAK:
        return at
    until_morning = (7.0 - window.hour_of_day(at)) % 24
    return at + until_morning + rng.random() * 3.0


def delay(rng: Random, median: float, spread: float) -> float:
    """A log-normal delay in hours: most are near the median, a few much longer; at least a minute."""
    return max(1 / 60, median * math.exp(rng.gauss(0.0, spread)))


def office(rng: Random, window: Window, at: float) -> float:
    """The first moment from `at` when the brand's team is at work (weekdays, office hours)."""
    for _ in range(8):
        hour, day = window.hour_of_day(at), window.weekday(at)
        if (day < 5 and OFFICE[0] <= hour < OFFICE[1]) or (day == 5 and SATURDAY[0] <= hour < SATURDAY[1]):
            return at
        at += (OFFICE[0] - hour) % 24 + rng.random() * 1.5
    return at
