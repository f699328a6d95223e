"""VADER's scores (vaderSentiment 3.3.2, its lexicon and rules), each text's words lowered once.

The package's `polarity_scores` lowers every word of a text again for each of its words (its negation and
idiom checks rebuild the lowered list each time they are asked), and rebuilds the text character by character
to translate emoji: quadratic in the words, a fifth of the enrichment pipeline's time. This is the same
algorithm, step for step and in the same floating-point order, with the lowered words computed once and the
emoji translation skipped for texts that hold none; it reads the package's lexicon, emoji and constants, and
calls its own code for what is computed once per text (the "but" rule, the scores' summary). Same outputs
to the last digit: `tests/test_vader.py` compares both on real texts and on generated ones built from every
word the rules look for.
"""

from __future__ import annotations

import string
from functools import cache
from typing import Any

from vaderSentiment import vaderSentiment as package  # type: ignore[import-untyped]  # noqa: N813

BOOSTERS: dict[str, float] = package.BOOSTER_DICT
IDIOMS: dict[str, float] = package.SPECIAL_CASES
NEGATIONS = frozenset(package.NEGATE)
N_SCALAR: float = package.N_SCALAR
C_INCR: float = package.C_INCR
PUNCTUATION = string.punctuation


@cache
def analyzer() -> Any:
    """The package's analyzer: its lexicon and emoji, and the steps computed once per text."""
    return package.SentimentIntensityAnalyzer()


@cache
def _emoji() -> tuple[dict[str, str], frozenset[str]]:
    emojis: dict[str, str] = analyzer().emojis
    return emojis, frozenset(key for key in emojis if len(key) == 1)


def polarity_scores(text: str) -> dict[str, float]:
    """What `SentimentIntensityAnalyzer().polarity_scores(text)` returns."""
    emojis, singles = _emoji()
    if not singles.isdisjoint(text):
        text = _described(text, emojis)
    text = text.strip()
    words = [_strip_punctuation(token) for token in text.split()]
    lowered = [word.lower() for word in words]
    capitals = _cap_differential(words)
    lexicon: dict[str, float] = analyzer().lexicon
    sentiments: list[float] = []
    last = len(words) - 1
    for i, low in enumerate(lowered):
        if low in BOOSTERS or (i < last and low == "kind" and lowered[i + 1] == "of"):
            sentiments.append(0)
            continue
        sentiments.append(_valence(words, lowered, i, capitals, lexicon))
    if "but" in lowered:
        sentiments = package.SentimentIntensityAnalyzer._but_check(words, sentiments)
    scores: dict[str, float] = analyzer().score_valence(sentiments, text)
    return scores


def _described(text: str, emojis: dict[str, str]) -> str:
    """Each emoji replaced by its description, spaced as the package does."""
    out: list[str] = []
    prev_space = True
    for char in text:
        description = emojis.get(char)
        if description is not None:
            if not prev_space:
                out.append(" ")
            out.append(description)
            prev_space = False
        else:
            out.append(char)
            prev_space = char == " "
    return "".join(out)


def _strip_punctuation(token: str) -> str:
    stripped = token.strip(PUNCTUATION)
    return token if len(stripped) <= 2 else stripped


def _cap_differential(words: list[str]) -> bool:
    capitals = sum(1 for word in words if word.isupper())
    return 0 < len(words) - capitals < len(words)


def _valence(words: list[str], lowered: list[str], i: int, capitals: bool, lexicon: dict[str, float]) -> float:
    """The package's `sentiment_valence` for word i."""
    low = lowered[i]
    if low not in lexicon:
        return 0
    valence = lexicon[low]
    if low == "no" and i != len(words) - 1 and lowered[i + 1] in lexicon:
        valence = 0.0
    if (
        (i > 0 and lowered[i - 1] == "no")
        or (i > 1 and lowered[i - 2] == "no")
        or (i > 2 and lowered[i - 3] == "no" and lowered[i - 1] in ["or", "nor"])
    ):
        valence = lexicon[low] * N_SCALAR
    if words[i].isupper() and capitals:
        if valence > 0:
            valence += C_INCR
        else:
            valence -= C_INCR
    for start_i in range(0, 3):
        if i > start_i and lowered[i - (start_i + 1)] not in lexicon:
            s = package.scalar_inc_dec(words[i - (start_i + 1)], valence, capitals)
            if start_i == 1 and s != 0:
                s = s * 0.95
            if start_i == 2 and s != 0:
                s = s * 0.9
            valence = valence + s
            valence = _negation(valence, lowered, start_i, i)
            if start_i == 2:
                valence = _idioms(valence, lowered, i)
    return _least(valence, lowered, i, lexicon)


def _negated(word: str) -> bool:
    """The package's `negated([word])`."""
    word = word.lower()
    return word in NEGATIONS or "n't" in word


def _negation(valence: float, lowered: list[str], start_i: int, i: int) -> float:
    """The package's `_negation_check`."""
    if start_i == 0 and _negated(lowered[i - (start_i + 1)]):
        valence = valence * N_SCALAR
    if start_i == 1:
        if lowered[i - 2] == "never" and (lowered[i - 1] == "so" or lowered[i - 1] == "this"):
            valence = valence * 1.25
        elif lowered[i - 2] == "without" and lowered[i - 1] == "doubt":
            pass
        elif _negated(lowered[i - (start_i + 1)]):
            valence = valence * N_SCALAR
    if start_i == 2:
        if (lowered[i - 3] == "never" and (lowered[i - 2] == "so" or lowered[i - 2] == "this")) or (
            lowered[i - 1] == "so" or lowered[i - 1] == "this"
        ):
            valence = valence * 1.25
        elif lowered[i - 3] == "without" and (lowered[i - 2] == "doubt" or lowered[i - 1] == "doubt"):
            pass
        elif _negated(lowered[i - (start_i + 1)]):
            valence = valence * N_SCALAR
    return valence


def _idioms(valence: float, lowered: list[str], i: int) -> float:
    """The package's `_special_idioms_check`."""
    onezero = f"{lowered[i - 1]} {lowered[i]}"
    twoonezero = f"{lowered[i - 2]} {lowered[i - 1]} {lowered[i]}"
    twoone = f"{lowered[i - 2]} {lowered[i - 1]}"
    threetwoone = f"{lowered[i - 3]} {lowered[i - 2]} {lowered[i - 1]}"
    threetwo = f"{lowered[i - 3]} {lowered[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in IDIOMS:
            valence = IDIOMS[seq]
            break
    if len(lowered) - 1 > i:
        zeroone = f"{lowered[i]} {lowered[i + 1]}"
        if zeroone in IDIOMS:
            valence = IDIOMS[zeroone]
    if len(lowered) - 1 > i + 1:
        zeroonetwo = f"{lowered[i]} {lowered[i + 1]} {lowered[i + 2]}"
        if zeroonetwo in IDIOMS:
            valence = IDIOMS[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTERS:
            valence = valence + BOOSTERS[n_gram]
    return valence


def _least(valence: float, lowered: list[str], i: int, lexicon: dict[str, float]) -> float:
    """The package's `_least_check`."""
    if i > 1 and lowered[i - 1] not in lexicon and lowered[i - 1] == "least":
        if lowered[i - 2] != "at" and lowered[i - 2] != "very":
            valence = valence * N_SCALAR
    elif i > 0 and lowered[i - 1] not in lexicon and lowered[i - 1] == "least":
        valence = valence * N_SCALAR
    return valence
