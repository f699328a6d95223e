"""The vectorised n-gram hashing against a plain loop that spells out what it should compute."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pilote.enrich import features, hashing

BITS = 10
WIDTH = 2**BITS
MASK = 2**64 - 1
P = 0x100000001B3
BIGRAM = 0x9E3779B97F4A7C15


def word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def polynomial(text: str) -> int:
    return sum(ord(c) * pow(P, i, 2**64) for i, c in enumerate(text)) & MASK


def column(value: int) -> int:
    value ^= value >> 30
    value = (value * 0xBF58476D1CE4E5B9) & MASK
    value ^= value >> 27
    value = (value * 0x94D049BB133111EB) & MASK
    value ^= value >> 31
    return value >> (64 - BITS)


def squeezed(text: str) -> str:
    kept = [c for i, c in enumerate(text) if not (i >= 2 and c.isalpha() and c == text[i - 1] == text[i - 2])]
    return "".join(kept)


def kinds(text: str) -> list[int]:
    """0 space, 1 symbol, 2 word (with inner joiners and a leading @), character by character."""
    found = []
    for i, c in enumerate(text):
        before = i > 0 and word_char(text[i - 1])
        after = i + 1 < len(text) and word_char(text[i + 1])
        if word_char(c) or (c in "'’.-" and before and after) or (c == "@" and after and not before):
            found.append(2)
        else:
            found.append(0 if c.isspace() else 1)
    return found


def tokens(text: str) -> list[str]:
    found, current, last = [], "", 0
    for c, kind in zip(text, kinds(text), strict=True):
        if kind != last and current:
            found.append(current)
            current = ""
        if kind:
            current += c
        last = kind
    return [*found, current] if current else found


def reference(text: str) -> dict[int, int]:
    """The columns one text should count, computed one string at a time."""
    words = tokens(squeezed(text))
    counted: dict[int, int] = {}

    def add(key: int) -> None:
        counted[key] = counted.get(key, 0) + 1

    hashes = [polynomial(w) for w in words]
    for value in hashes:
        add(column(value))
    for first, second in itertools.pairwise(hashes):
        add(column((first * BIGRAM + second) & MASK))
    for word in words:
        padded = f" {word} "
        for start in range(len(padded) - 3):
            add(WIDTH + column(polynomial(padded[start : start + 4])))
    return counted


def as_dict(row: object) -> dict[int, int]:
    indices, data = row.indices, row.data  # type: ignore[attr-defined]
    return {int(i): int(v) for i, v in zip(indices, data, strict=True)}


TEXTS = st.text(st.characters(blacklist_characters="\x00"), max_size=40)
SAMPLES = st.lists(st.sampled_from(["aujourd'hui", "peut-être", "ex.com", "@bob", "x@y", "a--b", "sooooo", "!!",
                                    "😡😡", "l’été", "CAFÉ", "1111", " ", "\n", ".", "@@a", "'a'", "_",
                                    "𝐚𝐚𝐚𝐚", "𠀀𠀀𠀀"]))  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(TEXTS, SAMPLES.map(" ".join), SAMPLES.map("".join)), min_size=1, max_size=6))
def test_batch_counts_equal_the_plain_loop_text_by_text(texts: list[str]) -> None:
    matrix = hashing.counts(texts, WIDTH)
    assert matrix.shape == (len(texts), 2 * WIDTH)
    for i, text in enumerate(texts):
        assert as_dict(matrix[i]) == reference(text), text


def test_words_symbols_and_padded_grams_are_what_the_docstring_says() -> None:
    assert tokens("Aujourd'hui, @ana dit: peut-être!! x@y.com 😡") == [
        "Aujourd'hui", ",", "@ana", "dit", ":", "peut-être", "!!", "x", "@", "y.com", "😡"
    ]  # fmt: skip
    assert squeezed("sooooo coool 1111") == "soo cool 1111"
    assert as_dict(hashing.counts(["génial"], WIDTH)) == reference("génial")
    assert sum(reference("génial").values()) == 1 + 5  # one word, the 4-grams of " génial "


def test_a_batch_normalised_as_one_string_keeps_each_text_apart() -> None:
    hostile = ["see http://spam.example/x", "<b unclosed", "nul\x00inside", "", "&amp; @Bob>", "www.a.fr"]
    together = features.counts(hostile)
    assert together.shape[0] == len(hostile)
    for i, text in enumerate(hostile):
        alone = features.counts([text])
        assert as_dict(together[i]) == as_dict(alone[0]), text
    assert features.counts([]).shape[0] == 0


def test_author_tokens_are_hashed_whole() -> None:
    matrix = hashing.token_counts(["a:best a:best site:none", ""], WIDTH)
    assert sorted(matrix[0].data.tolist()) == [1.0, 2.0]
    assert matrix[1].nnz == 0
    assert np.all(matrix.indices < WIDTH)


def test_a_long_text_of_rare_characters_is_classified_once_per_distinct_character() -> None:
    rare = [chr(0x20000 + i) for i in range(3000)]  # CJK extension B: letters beyond the basic plane
    text = " ".join(rare) + " 𝐚𝐚𝐚𝐚 😡"
    matrix = hashing.counts([text], WIDTH)
    assert as_dict(matrix[0]) == reference(text)


def test_the_heads_read_the_first_five_thousand_characters_of_a_huge_message() -> None:
    head = "Merci pour la réponse rapide ! " * 200
    huge = head + "x" * 900_000
    assert as_dict(features.counts([huge])[0]) == as_dict(features.counts([huge[: features.MAX_CHARS]])[0])
