"""Conversations: who answers a message, with what intent, how long after, and when the brand steps in."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from random import Random

from pilote.simulate.clock import Window, awake, delay, office
from pilote.simulate.community import BRAND, Community
from pilote.simulate.records import Draft, Person, Topic, Truth, child
from pilote.simulate.texts import NEEDS_ANSWER, TOXIC, Voice, compose, sentiment

Mix = Mapping[str, float]


def mix(text: str) -> Mix:
    """A mix written as "intent share intent share...", which reads better than a dict literal."""
    words = text.split()
    return {intent: float(share) for intent, share in zip(words[::2], words[1::2], strict=True)}


# What people write in answer to a message, by the intent of that message.
REPLY_MIX: dict[str, Mix] = {
    "question": mix("answer .55 chitchat .12 question .05 same_problem .1 agree .06 criticism .06 praise .06"),
    "complaint": mix("same_problem .35 answer .18 chitchat .1 criticism .15 rude .04 praise .1 question .08"),
    "answer": mix("thanks .6 question .08 agree .12 chitchat .1 criticism .05 same_problem .05"),
    "praise": mix("agree .45 chitchat .27 question .06 criticism .1 praise .12"),
    "suggestion": mix("agree .5 chitchat .2 criticism .15 suggestion .15"),
    "criticism": mix("same_problem .3 chitchat .25 criticism .2 praise .15 agree .05 rude .05"),
    "rude": mix("criticism .35 chitchat .35 praise .2 rude .1"),
    "announcement": mix(
        "praise .32 chitchat .26 question .07 criticism .11 suggestion .1 complaint .03 agree .07 rude .02"
    ),
}
DEFAULT_MIX = mix("chitchat .55 agree .2 thanks .1 same_problem .1 question .05")
ANSWER_RATE = {"blog": 0.6, "forum": 0.7, "social": 0.55}  # share of questions the brand answers
BRAND_DELAY = (1.5, 1.4)  # median hours and spread of the brand's answers, before office hours
LONGEST_WAIT = 96.0  # hours: an answer later than that is as good as none, and is not written
THANKS_PRAISE = 0.08  # how often the brand thanks someone for praise


@dataclass(slots=True, frozen=True)
class ThreadStyle:
    """How a channel's threads grow: delays (median hours, spread), reply chance and its decay, deepest reply."""

    first_delay: tuple[float, float]
    reply_delay: tuple[float, float]
    reply_chance: float
    max_depth: int
    style: str = "forum"
    decay: float = 0.55  # how much less likely a reply is to be answered than its parent


@dataclass(slots=True)
class Scene:
    """Where messages are being written: window, members, randomness, and the scenario they belong to."""

    rng: Random
    window: Window
    community: Community
    scenario: str = "baseline"
    until: float = math.inf  # nothing of the scene is written after this (an episode's end)
    answer_rate: float = 1.0  # below 1 when the brand's team is overwhelmed
    buzz: bool = False
    topic: Topic | None = None  # what every message of the scene is about, whatever it answers

    def open(self, at: float) -> bool:
        """Whether a message at `at` belongs in the scene."""
        return self.window.contains(at) and at <= self.until


def draw(rng: Random, shares: Mix) -> str:
    """An intent drawn from a mix of shares."""
    return rng.choices(tuple(shares), weights=tuple(shares.values()))[0]


def truth(scene: Scene, author: Person, intent: str, language: str | None = None) -> Truth:
    """The ground truth of a message written by `author` with `intent`."""
    return Truth(
        intent=intent,
        sentiment=sentiment(intent),
        language=language or author.language,
        member=author.key,
        role=author.role,
        scenario=scene.scenario,
        needs_answer=intent in NEEDS_ANSWER and author.role != "brand",
        toxic=intent in TOXIC,
    )


def first_name(person: Person) -> str:
    """How a reply addresses someone."""
    return person.name.split()[0]


def respond(scene: Scene, parent: Draft, at: float, author: Person, intent: str, style: str = "forum") -> Draft:
    """`author`'s message with `intent` answering `parent`."""
    voice = Voice(author.language, intent, style, scene.buzz)
    text = compose(scene.rng, voice, scene.topic or parent.topic, {"name": first_name(parent.author)})
    return child(parent, at=at, author=author, text=text, truth=truth(scene, author, intent))


def discuss(scene: Scene, root: Draft, count: int, style: ThreadStyle, intents: Mix | None = None) -> list[Draft]:
    """The brand's answer to `root` if it needs one, and up to `count` answers from members, with their replies."""
    rng, out = scene.rng, []
    answer = brand_answer(scene, root, style.style)
    if answer is not None:
        out.append(answer)
        out.extend(follow(scene, answer, style))
    for _ in range(count):
        at = awake(rng, scene.window, root.at + delay(rng, *style.first_delay))
        if not scene.open(at):
            continue
        author = scene.community.pick(rng, root.source, at)
        intent = draw(rng, intents or REPLY_MIX.get(root.truth.intent, DEFAULT_MIX))
        message = respond(scene, root, at, author, intent, style.style)
        out.append(message)
        out.extend(follow(scene, message, style))
    return out


def follow(scene: Scene, message: Draft, style: ThreadStyle) -> list[Draft]:
    """What comes after a message: perhaps the brand's answer, perhaps replies, and theirs in turn."""
    rng, out = scene.rng, []
    answer = brand_answer(scene, message, style.style)
    if answer is not None:
        out.append(answer)
        out.extend(follow(scene, answer, style))
    if message.depth >= style.max_depth:
        return out
    chance = style.reply_chance * style.decay ** (message.depth - 1)
    count = 0
    while rng.random() < chance and count < 6:
        count += 1
        chance *= 0.45
    for _ in range(count):
        at = awake(rng, scene.window, message.at + delay(rng, *style.reply_delay))
        if not scene.open(at):
            continue
        intent = draw(rng, REPLY_MIX.get(message.truth.intent, DEFAULT_MIX))
        reply = respond(scene, message, at, _replier(scene, message, at), intent, style.style)
        out.append(reply)
        out.extend(follow(scene, reply, style))
    return out


def brand_answer(scene: Scene, message: Draft, style: str = "forum") -> Draft | None:
    """The brand's answer to a question or complaint (not always, after minutes to days, in office hours)."""
    rng, intent = scene.rng, message.truth.intent
    if message.author.role == "brand":
        return None
    if intent == "praise" and rng.random() < THANKS_PRAISE:
        key, answer_intent = "brand_reply", "thanks"
    elif message.truth.needs_answer and rng.random() < ANSWER_RATE[message.source] * scene.answer_rate:
        key, answer_intent = ("brand_complaint" if intent == "complaint" else "brand_question"), "answer"
    else:
        return None
    wait = min(delay(rng, *BRAND_DELAY) / scene.answer_rate, LONGEST_WAIT)
    at = office(rng, scene.window, message.at + wait)
    if not scene.open(at):
        return None
    language = message.author.language if message.author.language in ("fr", "en") else "en"
    text = compose(rng, Voice(language, key, "brand"), message.topic, {"name": first_name(message.author)})
    if message.source == "social":
        text = f"@{message.author.social} {text}"
    answer = child(message, at=at, author=BRAND, text=text, truth=truth(scene, BRAND, answer_intent, language))
    if message.truth.needs_answer:
        message.truth.answered_after = round((at - message.at) * 3600)
    return answer


def _replier(scene: Scene, message: Draft, at: float) -> Person:
    """Conversations go back and forth: often the person answered answers back."""
    earlier = message.parent.author if message.parent is not None else None
    chance = 0.8 if message.author.role == "brand" else 0.35
    if earlier is None or earlier.role in ("brand", "spammer") or earlier is message.author:
        return scene.community.pick(scene.rng, message.source, at)
    if earlier.active(at) and scene.rng.random() < chance:
        return earlier
    return scene.community.pick(scene.rng, message.source, at)
