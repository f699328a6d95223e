"""Labelled files for training and evaluation: UMSAB tweets, Allociné, YouTube spam and the repo's own CSVs.

Each reader returns texts and string labels; the format (and so the task) is detected from the file.
Third-party data stays outside the repository (see `shared_folder`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pilote.enrich.features import Sample
from pilote.errors import BadInput

SENTIMENT = {"0": "negative", "1": "neutral", "2": "positive"}
ALLOCINE = {"0": "negative", "1": "positive"}
YOUTUBE = ("COMMENT_ID", "AUTHOR", "DATE", "CONTENT", "label")
SENTIMENTS = ("negative", "neutral", "positive")
INTENTS = ("question", "complaint", "praise", "suggestion", "other")


@dataclass(frozen=True, slots=True)
class Labelled:
    """Samples with their labels, the task they serve and where they came from."""

    task: str
    samples: list[Sample]
    labels: list[str]
    path: Path

    @property
    def texts(self) -> list[str]:
        """The text of each sample."""
        return [sample.text for sample in self.samples]


def shared_folder() -> Path:
    """Third-party data: $PILOTE_SHARED_DATA, else ../shared/data beside the repository."""
    configured = os.environ.get("PILOTE_SHARED_DATA")
    return Path(configured) if configured else Path(__file__).resolve().parents[4] / "shared" / "data"


def fingerprint(path: Path) -> str:
    """The sha256 of a file's bytes: how a model remembers what it was trained on."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read(path: Path) -> Labelled:
    """Read any supported labelled file, or a BadInput saying what was expected."""
    if not path.is_file():
        raise BadInput(path, None, "no such file", "give a labelled .csv, .tsv or UMSAB *_text.txt file")
    if path.name.endswith("_text.txt"):
        return _umsab(path)
    if path.suffix == ".tsv":
        return _allocine(path)
    if path.suffix == ".csv":
        return _csv(path)
    raise BadInput(path, None, "unknown labelled format", "expected *_text.txt, label<TAB>text .tsv, or a .csv")


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise BadInput(path, f"byte {error.start}", "not UTF-8", "save the file as UTF-8") from None


def _umsab(path: Path) -> Labelled:
    labels_path = path.with_name(path.name.replace("_text.txt", "_labels.txt"))
    if not labels_path.is_file():
        raise BadInput(path, None, f"no {labels_path.name} beside it", "UMSAB labels sit next to the texts")
    texts, labels = _lines(path), _lines(labels_path)
    if len(texts) != len(labels):
        raise BadInput(labels_path, None, f"{len(labels)} labels for {len(texts)} texts", "files must align")
    return Labelled("sentiment", [Sample(t) for t in texts], [_label(labels_path, i, v.strip(), SENTIMENT) for i, v in
                                         enumerate(labels, 1)], path)  # fmt: skip


def _allocine(path: Path) -> Labelled:
    texts, labels = [], []
    for number, line in enumerate(_lines(path), 1):
        label, tab, text = line.partition("\t")
        if not tab:
            raise BadInput(path, f"line {number}", "no tab", "expected label<TAB>text")
        labels.append(_label(path, number, label, ALLOCINE))
        texts.append(text)
    return Labelled("sentiment", [Sample(t) for t in texts], labels, path)


def _label(path: Path, number: int, value: str, known: dict[str, str]) -> str:
    if value not in known:
        raise BadInput(path, f"line {number}", f"label {value!r}", f"expected one of {', '.join(known)}")
    return known[value]


Row = dict[str, str]
CSV_FORMATS: dict[tuple[str, ...], tuple[str, str, Callable[[Row], Sample], Callable[[str], str]]] = {
    YOUTUBE: ("spam", "label", lambda r: Sample(r["CONTENT"], r["AUTHOR"]), lambda v: {"1": "spam", "0": "ham"}[v]),
    ("text", "author", "url", "language", "spam"): (
        "spam", "spam", lambda r: Sample(r["text"], r["author"], r["url"]), lambda v: {"1": "spam", "0": "ham"}[v]),
    ("text", "language", "toxic"): ("toxicity", "toxic", lambda r: Sample(r["text"]),
                                    lambda v: {"1": "toxic", "0": "not_toxic"}[v]),
    ("text", "language", "sentiment"): ("sentiment", "sentiment", lambda r: Sample(r["text"]),
                                        lambda v: SENTIMENTS[SENTIMENTS.index(v)]),
    ("text", "language", "intent"): ("intent", "intent", lambda r: Sample(r["text"]),
                                     lambda v: INTENTS[INTENTS.index(v)]),
}  # fmt: skip


def _csv(path: Path) -> Labelled:
    # Joined back so that quoted fields spanning lines stay whole.
    rows = list(csv.reader(io.StringIO("\n".join(_lines(path)))))
    header = tuple(rows[0]) if rows else ()
    if header not in CSV_FORMATS:
        expected = " | ".join(",".join(h) for h in CSV_FORMATS)
        raise BadInput(path, "line 1", f"unknown header {','.join(header)!r}", f"expected {expected}")
    task, column, text_of, label_of = CSV_FORMATS[header]
    samples, labels = [], []
    for number, values in enumerate(rows[1:], 2):
        if len(values) != len(header):
            raise BadInput(path, f"line {number}", f"{len(values)} fields", f"expected {len(header)}")
        row = dict(zip(header, values, strict=True))
        try:
            labels.append(label_of(row[column]))
        except (KeyError, ValueError):
            raise BadInput(path, f"line {number}", f"{column} {row[column]!r}", "not a known label") from None
        samples.append(text_of(row))
    return Labelled(task, samples, labels, path)
