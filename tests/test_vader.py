"""Our VADER (each text's words lowered once) gives the package's scores to the last digit."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pilote.enrich import vader

# Every word or sign a rule of the package looks at, in several cases, and lexicon words of both signs.
RULED = [
    "no", "No", "NO", "not", "isn't", "never", "NEVER", "so", "this", "without", "doubt", "least", "at", "very",
    "or", "nor", "kind", "of", "sort", "but", "BUT", "the", "shit", "bomb", "bad", "ass", "cut", "mustard",
    "extremely", "EXTREMELY", "barely", "hardly", "kinda", "yeah", "right", "hand", "to", "mouth", "bus", "stop",
    "good", "GOOD", "great", "Great", "bad", "BAD", "terrible", "love", "hate", "ok", "meh", "lol", ":)", ":(",
    ":D", "<3", "!!", "?", "??", "!!!!!", "bike", "velo", "merci", "super", "nul", "\U0001f600", "\U0001f621",
    "\u2764\ufe0f", "great!", "(good)", "...", "--", "a", "I", "it", "was", "is", "can't", "don't", "aint",
]  # fmt: skip


def same(texts: list[str]) -> None:
    package = vader.analyzer()
    for text in texts:
        assert vader.polarity_scores(text) == package.polarity_scores(text), text


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(RULED), max_size=14), st.sampled_from(["", " ", "  ", "\n"]))
def test_any_sequence_of_the_words_the_rules_read_scores_as_the_package_does(words: list[str], gap: str) -> None:
    same([(gap or " ").join(words), gap + " ".join(words) + gap, "".join(words)])


def test_hand_picked_cases_of_each_rule() -> None:
    same([
        "", "   ", "no", "No good", "no no good", "not bad at all", "NOT BAD", "never so good", "without doubt great",
        "at least it works", "very least good", "the least good", "kind of good", "sort of bad", "good but slow",
        "It was bad but the staff were GREAT!!!", "the shit", "bad ass bike", "cut the mustard", "Great??",
        "Great???? really", "I \U0001f600 it", "\U0001f600\U0001f600", "love\u2764\ufe0fit", "not good, no or nor bad",
    ])  # fmt: skip


@pytest.mark.realdata
def test_real_tweets_comments_and_reviews_score_as_with_the_package(shared: Path) -> None:
    texts: list[str] = []
    for language in ("english", "french"):
        lines = (shared / "sentiment_tweets" / language / "val_text.txt").read_text(encoding="utf-8").splitlines()
        texts += lines
    for path in sorted((shared / "youtube_spam").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            texts += [row["CONTENT"] for row in csv.DictReader(handle)][:300]
    with (shared / "reddit" / "announcements_n49rw_comments.csv").open(encoding="utf-8", newline="") as handle:
        texts += [row["body"] for row in csv.DictReader(handle)][:600]
    assert len(texts) > 2000
    same(texts)
