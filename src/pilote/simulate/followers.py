"""The demo social account's followers, as Pilote's syncs would have observed them: one count every six hours.

A slow, noisy growth (about a hundred new followers a week), unfollows while the bad buzz lasts, and slower growth
for two weeks after it. Drawn from its own random generator: the same seed gives the same counts.
"""

from __future__ import annotations

from random import Random

from pilote.simulate.clock import Window
from pilote.simulate.community import BRAND
from pilote.simulate.records import Episode
from pilote.sources.base import Audience

SYNC_HOURS = 6
START = 17_200  # followers when the window opens
GROWTH = 3.6  # new followers per sync on an ordinary day
LOST = 45.0  # followers lost per sync while the bad buzz lasts
FOLLOWING = 212


def observations(seed: int, window: Window, episodes: list[Episode]) -> list[Audience]:
    """The account's counts at every sync of the window, oldest first."""
    rng = Random(f"pilote-demo:{seed}:followers")
    crises = [(window.offset(e.start), window.offset(e.end)) for e in episodes if e.kind == "bad_buzz"]
    followers, found = float(START), []
    for step in range(int(window.hours // SYNC_HOURS) + 1):
        at = step * SYNC_HOURS
        during = any(start <= at < end for start, end in crises)
        after = any(end <= at < end + 14 * 24 for _, end in crises)  # two weeks of slower growth after it
        change = -rng.gauss(LOST, LOST / 3) if during else rng.gauss(GROWTH * (0.4 if after else 1.0), GROWTH)
        followers = max(0.0, followers + change)
        found.append(Audience(BRAND.social, window.moment(at), round(followers), FOLLOWING))
    return found
