"""The community forum: topics opened by members (many of them questions), answered by peers and the brand."""

from __future__ import annotations

import math

from pilote.simulate import texts
from pilote.simulate.clock import daily_times
from pilote.simulate.conversation import Scene, ThreadStyle, discuss, draw, mix, truth
from pilote.simulate.records import Draft, Person, Topic

STYLE = ThreadStyle(first_delay=(1.5, 1.3), reply_delay=(2.0, 1.2), reply_chance=0.3, max_depth=3)
TOPICS = 30 / 5000  # new topics a day, per member of the community
ANSWERS = 2.5  # median direct answers to a topic
TOPIC_MIX = mix("question .26 chitchat .28 praise .15 suggestion .11 complaint .07 criticism .1 rude .03")


def generate(scene: Scene) -> list[Draft]:
    """Every topic of the window, with its answers."""
    rng, drafts = scene.rng, []
    per_day = TOPICS * len(scene.community.people)
    for number, at in enumerate(daily_times(rng, scene.window, "forum", per_day)):
        author = scene.community.pick(rng, "forum", at)
        intent = draw(rng, TOPIC_MIX)
        topic = texts.random_topic(rng)
        opening = open_topic(scene, f"topic-{number:05d}", at, author, (intent, topic))
        drafts.append(opening)
        answers = int(rng.lognormvariate(math.log(ANSWERS), 0.8))
        drafts.extend(discuss(scene, opening, answers, STYLE))
    return drafts


def open_topic(scene: Scene, external_id: str, at: float, author: Person, subject: tuple[str, Topic]) -> Draft:
    """A new forum topic: a title and a first message."""
    intent, topic = subject
    voice = texts.Voice(author.language, intent, "forum", scene.buzz)
    title, text = texts.compose_titled(scene.rng, voice, topic)
    return Draft(
        source="forum",
        external_id=external_id,
        kind="post",
        at=at,
        author=author,
        title=title,
        text=text,
        url=f"https://demo.example/forum/t/{external_id.removeprefix('topic-')}",
        truth=truth(scene, author, intent),
        topic=topic,
    )
