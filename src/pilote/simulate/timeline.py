"""The whole demo as drafts: the community, its everyday activity on three channels, and the episodes.

Each part draws from its own random generator, seeded from the run's seed and the part's name, so
the same seed always gives the same demo and changing one part leaves the others as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from pilote.simulate import blog, forum, social
from pilote.simulate.buzz import bad_buzz
from pilote.simulate.clock import Window
from pilote.simulate.community import gather
from pilote.simulate.conversation import Scene
from pilote.simulate.counters import settle
from pilote.simulate.episodes import Roots, spam_trickle, spam_waves
from pilote.simulate.records import Draft, Episode


@dataclass(slots=True)
class Timeline:
    """Every message of the demo, and the ground-truth episodes hidden in it."""

    drafts: list[Draft]
    episodes: list[Episode]
    members: int


def unfold(seed: int, window: Window, members: int) -> Timeline:
    """The demo for a seed, a window and a community size; the same arguments give the same timeline."""

    def rng(part: str) -> Random:
        return Random(f"pilote-demo:{seed}:{part}")

    community = gather(rng("members"), window, members)

    def scene(part: str) -> Scene:
        return Scene(rng(part), window, community)

    posts = blog.generate(scene("blog"))
    topics = forum.generate(scene("forum"))
    roots = Roots(blog=[d for d in posts if d.kind == "post"], forum=[d for d in topics if d.kind == "post"])
    talk = social.generate(scene("social"), roots.blog)
    waves, spam = spam_waves(scene("spam"), roots)
    busy = [(window.offset(e.start), window.offset(e.end)) for e in waves]
    spam += spam_trickle(scene("trickle"), roots, busy)
    crisis, buzz = bad_buzz(scene("buzz"), roots)
    drafts = posts + topics + talk + spam + buzz
    settle(rng("counters"), drafts)
    return Timeline(drafts, [*waves, crisis], members)
