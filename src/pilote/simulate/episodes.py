"""Spam: two waves of link-farm comments on the blog and the forum, and a trickle of it the rest of the time.

A wave lasts a few hours: a dozen keyword-named accounts post the same generic praise with their link,
over and over. Spam is an anomaly in the spam series only: it is positive in tone, so it adds nothing
to the volume of negative messages a crisis radar watches.
"""

from __future__ import annotations

import math
from bisect import bisect
from dataclasses import dataclass, field
from random import Random

from pilote.simulate.clock import poisson
from pilote.simulate.conversation import Scene
from pilote.simulate.names import ascii_slug
from pilote.simulate.records import Draft, Episode, Person, Topic, Truth, child

SPAMMERS = (
    ("Best Pellet Stoves.com", "pellet stoves"),
    ("cheap-viagra-online", "cheap viagra"),
    ("Casino Bonus Gratuit", "casino bonus"),
    ("replica watches shop", "replica watches"),
    ("SEO Services Cheap", "SEO services"),
    ("Buy Followers Now", "instagram followers"),
    ("crypto-profit-now", "crypto trading"),
    ("Meilleur Matelas 2025", "matelas"),
    ("Cheap Flights Deals", "cheap flights"),
    ("Forex Signals Pro", "forex signals"),
    ("Payday Loans Fast", "payday loans"),
    ("essay-writing-service", "essay writing"),
    ("Garden Gnomes Wholesale", "garden gnomes"),
    ("Best VPN Reviews", "VPN"),
    ("Rachat Crédit Facile", "rachat de crédit"),
)
LINES = (
    ("en", "Great post, thanks for sharing! {url}"),
    ("en", "Very informative article. I will bookmark it. Visit {url}"),
    ("en", "Nice blog! Check my website about {keyword}: {url}"),
    ("en", "Thanks for sharing this information. Really helpful. {url}"),
    ("fr", "Super article, merci pour le partage ! {url}"),
    ("en", "I like this post very much. Please visit {url} for the best {keyword}."),
    ("en", "Awesome content!!! Best {keyword} here => {url}"),
    ("fr", "Très bon article, j'ai appris beaucoup de choses. Visitez {url}"),
)
TITLES = ("{keyword} - best price", "Buy {keyword} online", "Best {keyword} 2025 !!!")
PATHS = ("", "", "", "?ref=blog", "deals", "promo")
# When the waves come: share of the window elapsed, hour of the day (UTC), duration in hours.
WAVES = ((0.22, 2.0, 4.0), (0.61, 13.0, 5.0))
WAVE_SIZE = (30, 0.08)  # messages per wave: a floor plus a share of the number of members
TRICKLE = 0.8  # spam a day outside the waves, for 5000 members
ON_BLOG = 0.55
NEW_TOPIC = 0.25


@dataclass(slots=True)
class Roots:
    """The threads an episode can write into, per channel, in the order they were opened."""

    blog: list[Draft]
    forum: list[Draft]
    opened: int = 0
    _times: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._times = {"blog": [d.at for d in self.blog], "forum": [d.at for d in self.forum]}

    def before(self, rng: Random, channel: str, at: float) -> Draft | None:
        """A thread of `channel` opened before `at`, at random."""
        count = bisect(self._times[channel], at)
        return (self.blog if channel == "blog" else self.forum)[rng.randrange(count)] if count else None

    def spawn(self) -> str:
        """A fresh number for a thread an episode opens."""
        self.opened += 1
        return f"x{self.opened:05d}"

    def latest(self, channel: str, at: float) -> Draft | None:
        """The last thread of `channel` opened before `at`."""
        count = bisect(self._times[channel], at)
        return (self.blog if channel == "blog" else self.forum)[count - 1] if count else None


@dataclass(slots=True, frozen=True)
class Spammer:
    """A link-farm account and the lines it repeats."""

    person: Person
    keyword: str
    lines: tuple[tuple[str, str], ...]


def spam_waves(scene: Scene, roots: Roots) -> tuple[list[Episode], list[Draft]]:
    """Both waves: their ground-truth windows and their messages."""
    episodes, drafts = [], []
    size = round(WAVE_SIZE[0] + WAVE_SIZE[1] * len(scene.community.people))
    for number, (share, hour, hours) in enumerate(WAVES, start=1):
        start = scene.window.midnight(round(share * scene.window.days)) + hour
        end = min(start + hours, scene.window.hours - 1 / 60)
        wave = Scene(scene.rng, scene.window, scene.community, scenario=f"spam_wave_{number}", until=end)
        messages = _wave(wave, roots, (start, end), size)
        crew = len({d.author.key for d in messages})
        what = f"{len(messages)} link-farm comments and topics from {crew} keyword-named accounts, blog and forum"
        episodes.append(Episode(wave.scenario, "spam_wave", wave.window.moment(start), wave.window.moment(end), what))
        drafts.extend(messages)
    return episodes, drafts


def spam_trickle(scene: Scene, roots: Roots, busy: list[tuple[float, float]]) -> list[Draft]:
    """The odd spam message outside the waves, which moderators see every week."""
    rng, window, drafts = scene.rng, scene.window, []
    per_day = TRICKLE * math.sqrt(len(scene.community.people) / 5000)
    for day in range(window.days + 1):
        for _ in range(poisson(rng, per_day)):
            at = window.midnight(day) + rng.random() * 24
            if window.contains(at) and not any(start - 6 <= at <= end + 6 for start, end in busy):
                drafts.extend(_spam(scene, roots, at, _spammer(rng, rng.choice(SPAMMERS))))
    return drafts


def _wave(scene: Scene, roots: Roots, span: tuple[float, float], size: int) -> list[Draft]:
    rng = scene.rng
    crew = [_spammer(rng, entry) for entry in rng.sample(SPAMMERS, rng.randint(9, 13))]
    weights = [1 / (rank + 1) for rank in range(len(crew))]
    drafts: list[Draft] = []
    for _ in range(size):
        at = span[0] + (span[1] - span[0]) * rng.triangular(0.0, 1.0, 0.35)
        drafts.extend(_spam(scene, roots, at, rng.choices(crew, weights=weights)[0]))
    return drafts


def _spammer(rng: Random, entry: tuple[str, str]) -> Spammer:
    name, keyword = entry
    slug = ascii_slug(name, "-")
    person = Person(
        key=f"spam-{slug}",
        name=name,
        handle=slug,
        social=slug,
        language="en",
        role="spammer",
        email=f"contact@{slug}.example",
    )
    return Spammer(person, keyword, tuple(rng.sample(LINES, 2)))


def _spam(scene: Scene, roots: Roots, at: float, spammer: Spammer) -> list[Draft]:
    """One spam message: a comment on an old blog post, a reply in a forum topic, or a topic of its own."""
    rng = scene.rng
    language, line = rng.choice(spammer.lines)
    text = line.format(url=f"https://{spammer.person.handle}.example/{rng.choice(PATHS)}", keyword=spammer.keyword)
    fact = Truth("spam", "positive", language, spammer.person.key, "spammer", scene.scenario, spam=True)
    channel = "blog" if rng.random() < ON_BLOG else "forum"
    parent = roots.before(rng, channel, at)
    if parent is not None and (channel == "blog" or rng.random() >= NEW_TOPIC):
        return [child(parent, at=at, author=spammer.person, text=text, truth=fact)]
    return [_topic(roots.spawn(), at, spammer, rng.choice(TITLES), (text, fact))]


def _topic(number: str, at: float, spammer: Spammer, title: str, content: tuple[str, Truth]) -> Draft:
    """A forum topic opened by a spammer."""
    text, fact = content
    return Draft(
        source="forum",
        external_id=f"topic-{number}",
        kind="post",
        at=at,
        author=spammer.person,
        text=text,
        title=title.format(keyword=spammer.keyword),
        url=f"https://demo.example/forum/t/{number}",
        truth=fact,
        topic=Topic(0, 0),
    )
