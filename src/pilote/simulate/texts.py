"""Writing the demo's messages: templates chosen by language and intent, their {slots} filled at random.

An opener, a detail and a closer are added around the core sentence on the forum and the blog, so
that two messages with the same intent rarely read the same; social messages stay short.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from random import Random

from pilote.simulate import phrases_en, phrases_fr
from pilote.simulate.lexicon import Lexicon, Templates
from pilote.simulate.phrases_buzz import BUZZ
from pilote.simulate.phrases_more import DE, ES, IT
from pilote.simulate.records import Topic

PRODUCTS = ("Lumen City", "Lumen City 2", "Lumen Trek", "Lumen Cargo", "Lumen Mini", "Lumen Kids", "Lumen Gravel")
FAULTY_PRODUCT = 1  # the Lumen City 2, whose battery latch starts the bad buzz
SENTIMENT = {
    "praise": "positive",
    "thanks": "positive",
    "agree": "positive",
    "spam": "positive",
    "complaint": "negative",
    "criticism": "negative",
    "rude": "negative",
    "same_problem": "negative",
}
EMOJI = (("🚲", "😊", "👍", "🙂", "😅", "💪", "🔋", "☀️", "🙏", "😉", "👌", "🌧️"), ("😡", "😤", "🙄", "😞", "👎", "😕"))
STICKY = frozenset({"order", "city"})
NEEDS_ANSWER = frozenset({"question", "complaint"})
TOXIC = frozenset({"rude"})


def _from_module(language: str, module: object) -> Lexicon:
    names = ("parts", "slots", "cores", "openers", "details", "closers", "titles", "paragraphs")
    return Lexicon(language, buzz=BUZZ[language], **{name: getattr(module, name.upper()) for name in names})


LEXICONS = {
    "fr": _from_module("fr", phrases_fr),
    "en": _from_module("en", phrases_en),
    **{lexicon.language: replace(lexicon, buzz=BUZZ[lexicon.language]) for lexicon in (ES, DE, IT)},
}
_SENTENCE_START = re.compile(r"(^|[.!?] |\n)(\w)")


def lexicon(language: str) -> Lexicon:
    """The material for a language; English for any other."""
    return LEXICONS.get(language, LEXICONS["en"])


def random_topic(rng: Random) -> Topic:
    """A product and a part of it, drawn at random."""
    return Topic(rng.randrange(len(PRODUCTS)), rng.randrange(len(LEXICONS["fr"].parts)))


def sentiment(intent: str) -> str:
    """The sentiment an intent carries: positive, negative or neutral."""
    return SENTIMENT.get(intent, "neutral")


@dataclass(slots=True, frozen=True)
class Voice:
    """How a message is written: language, intent, style ("social" is short, "brand" plain), crisis lines or not."""

    language: str
    intent: str
    style: str = "forum"
    buzz: bool = False


def compose(rng: Random, voice: Voice, topic: Topic, extra: dict[str, str] | None = None) -> str:
    """A message as `voice` says; `extra` fixes slots such as {name} (who is addressed)."""
    return _write(rng, voice, topic, extra)[1]


def compose_titled(rng: Random, voice: Voice, topic: Topic) -> tuple[str, str]:
    """A forum topic's title (the gist of its main sentence) and its text."""
    core, text = _write(rng, voice, topic, None)
    return headline(core), text


def headline(sentence: str, limit: int = 80) -> str:
    """A title made of a sentence: without its final full stop, cut at a pause if it is long."""
    text = sentence.rstrip(" .!")
    if len(text) <= limit:
        return text
    for mark in (" : ", ": ", ", ", ". "):
        cut = text.find(mark)
        if 20 <= cut <= limit:
            return text[:cut]
    return text[:limit].rsplit(" ", 1)[0] + "…"


def blog_title(rng: Random, language: str, topic: Topic) -> str:
    """The title of a blog post."""
    lex = lexicon(language)
    return fill(rng, lex, rng.choice(lex.titles["blog"]), topic)


def article(rng: Random, language: str, topic: Topic, paragraphs: int) -> list[str]:
    """The paragraphs of a blog post, in the order they were written."""
    lex = lexicon(language)
    chosen = sorted(rng.sample(range(len(lex.paragraphs)), min(paragraphs, len(lex.paragraphs))))
    return [fill(rng, lex, lex.paragraphs[i], topic) for i in chosen]


def fill(rng: Random, lex: Lexicon, template: str, topic: Topic, extra: dict[str, str] | None = None) -> str:
    """The template with every {slot} filled, sentences capitalised."""
    return _capitalise(template.format_map(_Slots(rng, lex, topic, extra or {})))


def templates(lex: Lexicon) -> list[str]:
    """Every template of a lexicon (to check that each one fills)."""
    groups = [*lex.cores.values(), *lex.buzz.values(), *lex.openers.values(), *lex.details.values()]
    groups += [*lex.closers.values(), *lex.titles.values(), lex.paragraphs]
    return [template for group in groups for template in group]


def _write(rng: Random, voice: Voice, topic: Topic, extra: dict[str, str] | None) -> tuple[str, str]:
    """The main sentence and the whole message; slots keep one value across the pieces."""
    lex = lexicon(voice.language)
    core = rng.choice(_cores(lex, voice.intent, voice.buzz))
    if voice.style == "brand":
        pieces = ["", core]
    else:
        short = voice.style == "social" or voice.buzz
        pieces = [_maybe(rng, lex.openers, voice.intent, 0.15 if short else 0.6), core]
        if not voice.buzz:
            pieces.append(_maybe(rng, lex.details, voice.intent, 0.3 if short else 0.5))
            pieces.append(_maybe(rng, lex.closers, voice.intent, 0.3 if short else 0.5))
        if rng.random() < (0.3 if short else 0.12):
            pieces.append(rng.choice(EMOJI[sentiment(voice.intent) == "negative"]))
    slots = _Slots(rng, lex, topic, extra or {})
    filled = [_capitalise(piece.format_map(slots)) for piece in pieces]
    return filled[1], _join(filled)


def _capitalise(text: str) -> str:
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text).strip()


def _cores(lex: Lexicon, intent: str, buzz: bool) -> Templates:
    if buzz and intent in lex.buzz:
        return lex.buzz[intent]
    return lex.cores.get(intent) or LEXICONS["en"].cores[intent]


def _maybe(rng: Random, table: Mapping[str, Templates], intent: str, chance: float) -> str:
    """An optional piece: half the time one made for the intent, otherwise one that suits any intent."""
    if rng.random() >= chance:
        return ""
    own, anything = table.get(intent, ()), table.get("any", ())
    options = own if own and (not anything or rng.random() < 0.5) else anything
    return rng.choice(options) if options else ""


def _join(pieces: list[str]) -> str:
    """Openers ending with a comma start a letter: the message goes on at the next line."""
    text = ""
    for piece in filter(None, pieces):
        text += ("\n" if text.endswith(",") else " " if text else "") + piece
    return text


class _Slots(dict[str, str]):
    """Slot values drawn on use; an order number or a city, once said, stays the same in the message."""

    def __init__(self, rng: Random, lex: Lexicon, topic: Topic, extra: dict[str, str]) -> None:
        super().__init__(extra)
        self.rng, self.lex, self.topic = rng, lex, topic

    def __missing__(self, key: str) -> str:
        value = self._draw(key)
        if key in STICKY:
            self[key] = value
        return value

    def _draw(self, key: str) -> str:
        rng, part = self.rng, self.lex.parts[self.topic.part]
        forms = {"part": part[0], "the_part": part[1], "of_part": part[2], "product": PRODUCTS[self.topic.product]}
        if key in forms:
            return forms[key]
        if key == "name":
            return self._draw("friend")
        number = _number(rng, key)
        if number is not None:
            return number
        values = self.lex.slots.get(key) or LEXICONS["en"].slots[key]
        return rng.choice(values)


def _number(rng: Random, key: str) -> str | None:
    if key == "days":
        return str(rng.randint(2, 21))
    if key == "weeks":
        return str(rng.randint(2, 9))
    if key == "km":
        return str(rng.choice((150, 300, 450, 600, 800, 1200, 1500, 2000, 2500, 3000, 4000, 5000, 7000)))
    if key == "ride_km":
        return str(rng.randint(4, 60))
    if key == "order":
        return f"VL-{rng.randint(10000, 99999)}"
    if key == "price":
        return str(rng.randint(3, 48) * 5)
    if key == "n":
        return str(rng.randint(2, 9))
    return None
