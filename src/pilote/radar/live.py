"""What is live: the radar alerts about now, not about history.

A five-minute bucket is *live* while it ended less than `HORIZON` ago. Messages that reach the radar
while their bucket is live still count, however late they come (a sync brings the last fifteen
minutes at once), and an alert about a live bucket opens or updates an incident and tells the team.
A bucket that left the horizon before its messages arrived (an import, a platform's first sync
reading its history) can only make a *past episode*: recorded, resolved from the start, told to
no one. A message dated more than `AHEAD` after now (a wrong clock, a wrong date) is not counted;
one dated a little ahead waits for its time. The reasoning and the figures: docs/alerts.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pilote.radar.series import STEP, bucket_start

HORIZON = timedelta(hours=2)
AHEAD = timedelta(hours=1)


def is_live(at: datetime, now: datetime) -> bool:
    """Whether the bucket starting at `at` is still news at `now` (it ended within the horizon)."""
    return at + STEP > now - HORIZON


def first_live(now: datetime) -> datetime:
    """The start of the oldest bucket that is live at `now`."""
    return bucket_start(now - HORIZON)


def is_ahead(moment: datetime, now: datetime) -> bool:
    """Whether a message dated `moment` is too far in the future to be counted at all."""
    return moment > now + AHEAD
