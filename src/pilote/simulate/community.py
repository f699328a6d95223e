"""The members of the demo community: who they are, how much they write, when they arrive and leave.

Activity follows a power law of the rank (Zipf–Mandelbrot, with a steeper tail): a few dozen regulars
write a large share of everything while most members write once or twice, if at all. Regulars were
there before the window and stay; other members either were there already or arrive during the
window, and many stop after a while.
"""

from __future__ import annotations

import math
from bisect import bisect
from itertools import accumulate
from random import Random

from pilote.simulate import names
from pilote.simulate.clock import Window
from pilote.simulate.records import Person

BRAND_NAME = "Vélo Lumen"
BRAND = Person(
    key="brand",
    name=BRAND_NAME,
    handle="velolumen",
    social="VeloLumen",
    language="fr",
    role="brand",
    email="communaute@velolumen.example",
    followers=18_500,
)
# The blog is written by two people of the team: one in French, one in English.
WRITERS = {
    "fr": Person(
        key="staff-camille",
        name="Camille Roux",
        handle="camille.roux",
        social="VeloLumen",
        language="fr",
        role="brand",
        email="camille.roux@velolumen.example",
    ),
    "en": Person(
        key="staff-tom",
        name="Tom Becker",
        handle="tom.becker",
        social="VeloLumen",
        language="en",
        role="brand",
        email="tom.becker@velolumen.example",
    ),
}
LANGUAGES = {"fr": 0.60, "en": 0.35, "es": 0.02, "de": 0.015, "it": 0.015}
HOMES = {"social": 0.55, "forum": 0.33, "blog": 0.12}
CHANNELS = tuple(HOMES)
ELSEWHERE = 0.15  # how much a member writes outside their favourite channel, relative to it
HEAD = (1.3, 0.004)  # Zipf–Mandelbrot exponent, and offset as a share of the community (caps the top writer)
TAIL = (0.08, 2.0)  # beyond this share of the ranks, activity falls faster (exponent): lurkers write little
REGULARS = 0.02  # share of members who were there before the window and stay
ALREADY_THERE = 0.45  # share of the other members present when the window opens
LIFETIME_DAYS = 150.0  # mean time an ordinary member stays active
HAS_EMAIL = 0.7


class Community:
    """The members, and who is likely to write a message on a channel at a moment."""

    def __init__(self, people: list[Person], taken: tuple[set[str], set[str]]) -> None:
        self.people = people
        self._taken = taken
        self._cumulative = {
            channel: list(accumulate(p.weight * (1.0 if p.home == channel else ELSEWHERE) for p in people))
            for channel in CHANNELS
        }

    def pick(self, rng: Random, channel: str, at: float) -> Person:
        """A member active at `at`, drawn by their activity on `channel`."""
        cumulative = self._cumulative[channel]
        person = self.people[0]
        for _ in range(60):
            person = self.people[bisect(cumulative, rng.random() * cumulative[-1])]
            if person.active(at):
                return person
        return person

    def quiet(self, rng: Random, at: float) -> Person:
        """A member drawn uniformly: most are occasional writers, as in a crowd drawn by an event."""
        for _ in range(60):
            person = rng.choice(self.people)
            if person.active(at):
                return person
        return person

    def outsider(self, rng: Random, number: int) -> Person:
        """Someone from outside the community, drawn in by an event (key o00000, o00001...)."""
        language = "fr" if rng.random() < 0.6 else "en"
        first, last = names.full_name(rng, language)
        handle = names.unique(names.handle(rng, first, last, language), self._taken[0])
        return Person(
            key=f"o{number:05d}",
            name=names.display_name(rng, first, last),
            handle=handle,
            social=names.unique(names.social_handle(rng, handle, first, last), self._taken[1]),
            language=language,
            role="outsider",
            followers=_followers(rng, regular=False),
        )


def gather(rng: Random, window: Window, size: int) -> Community:
    """`size` members, the most active first (their keys m00000, m00001... say so)."""
    taken: tuple[set[str], set[str]] = (set(), set())
    return Community([_member(rng, window, rank, size, taken) for rank in range(size)], taken)


def _member(rng: Random, window: Window, rank: int, size: int, taken: tuple[set[str], set[str]]) -> Person:
    language = _weighted(rng, LANGUAGES)
    first, last = names.full_name(rng, language)
    handle = names.unique(names.handle(rng, first, last, language), taken[0])
    joined, left = _lifetime(rng, window, regular=rank < size * REGULARS)
    return Person(
        key=f"m{rank:05d}",
        name=names.display_name(rng, first, last),
        handle=handle,
        social=names.unique(names.social_handle(rng, handle, first, last), taken[1]),
        language=language,
        email=names.email(rng, first, last) if rng.random() < HAS_EMAIL else None,
        weight=activity(rank, size),
        joined=joined,
        left=left,
        home=_weighted(rng, HOMES),
        followers=_followers(rng, regular=rank < size * REGULARS),
    )


def activity(rank: int, size: int) -> float:
    """How much the member of that rank writes, relative to others: a power law with a flat top, steeper tail."""
    offset, knee = max(1.0, HEAD[1] * size), max(1.0, TAIL[0] * size)
    if rank < knee:
        return math.pow(rank + offset, -HEAD[0])
    return math.pow(knee + offset, -HEAD[0]) * math.pow((rank + offset) / (knee + offset), -TAIL[1])


def _lifetime(rng: Random, window: Window, *, regular: bool) -> tuple[float, float]:
    """When a member arrives and leaves, in hours since the window start."""
    if regular:
        return -rng.uniform(30, 900) * 24, math.inf
    if rng.random() < ALREADY_THERE:
        joined = -rng.uniform(1, 400) * 24
    else:
        joined = rng.uniform(0, window.hours)
    return joined, max(joined, 0.0) + rng.expovariate(1 / (LIFETIME_DAYS * 24))


def _followers(rng: Random, *, regular: bool) -> int:
    """Social followers: heavy-tailed, larger for regulars."""
    base = 15 * rng.paretovariate(1.2) * (2 if regular else 1)
    return min(int(base), 20_000)


def _weighted(rng: Random, shares: dict[str, float]) -> str:
    return rng.choices(tuple(shares), weights=tuple(shares.values()))[0]
